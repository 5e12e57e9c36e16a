/**
 * The two-role choreography of the session flood tests (`remote-join-flood`, `remote-id-rotation-flood`): C sends W a
 * job, W answers its double. A raw peer's made-up Joins name W at `/user/w` (see `PeerFlood.madeUpJoin`).
 *
 * @example
 * ```ts
 * yield* target.spawn(Job.worker, { name: "w" })
 * const c = yield* honest.spawn(Job.client, { name: "c" })
 * const w = yield* honest.lookup("/user/w", Session.protocolOf(Job.Job, "W"), { node: "target" })
 * yield* Session.run(Job.Job, { roles: { C: c, W: w } }) // 42
 * ```
 */
import { Choreography, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"

export const Job = Choreography.makeUnsafe("Job", ["C", "W"], ($) => [
  $.message("C", "W", "job", Schema.Number),
  $.message("W", "C", "result", Schema.Number)
])

/** W: answers the job with its double. */
export const worker = Session.role(Job, "W", (ep) =>
  Effect.gen(function* () {
    const job = yield* ep.receive()
    return yield* job.next.send("C", "result", job.payload * 2)
  })
)

/** C: sends 21, returns the result. */
export const client = Session.role(Job, "C", (ep) =>
  Effect.gen(function* () {
    const result = yield* (yield* ep.send("W", "job", 21)).receive()
    yield* result.next.close()
    return result.payload
  })
)
