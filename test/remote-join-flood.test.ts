/**
 * A peer with the secret that may reach a session participant (an agent the policy lets peers reach) sends it
 * `Join` requests for sessions it makes up, each naming a coordinator on its own node, and never begins nor ends
 * them. The participant kept each session (a `RoleSession`) and a death watch of its coordinator until the session
 * ended or the peer went down: a peer grew this node's memory without bound (20,000 Joins: 20,000 sessions and
 * watches kept, +25.5 MB of heap after GC). A participant now holds at most 4,096 sessions not begun per coordinator
 * node (or `maxJoiningSessions` if larger: an honest coordinator node never has more joining at once); a Join past
 * that is answered without taking the session, with a warning a second.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { Effect, References, Schema } from "effect"
import { heapUsed } from "./support/heap.ts"
import * as PeerFlood from "./support/peer-flood.ts"

const SECRET = "a join flood test secret"
const JOINS = 20_000
const PER_FRAME = 200

const Job = Choreography.makeUnsafe("Job", ["C", "W"], ($) => [
  $.message("C", "W", "job", Schema.Number),
  $.message("W", "C", "result", Schema.Number)
])

const worker = Session.role(Job, "W", (ep) =>
  Effect.gen(function* () {
    const job = yield* ep.receive()
    return yield* job.next.send("C", "result", job.payload * 2)
  })
)

describe("a peer joins a participant to sessions it makes up", () => {
  it.live(
    "the participant keeps at most 4,096 sessions not begun per coordinator node (was: one per Join, until the peer goes down)",
    () =>
      Effect.gen(function* () {
        const { system, join } = yield* PeerFlood.floodTarget(SECRET)
        yield* system.spawn(worker, { name: "w" })
        const peer = yield* join("joiner")
        const before = yield* heapUsed
        yield* Effect.promise(() =>
          peer.send(
            JOINS,
            (n) => ({
              kind: "ask",
              to: { node: "target", path: "/user/w" },
              correlationId: `join-${n}`,
              payload: {
                _tag: "Join",
                session: `made-up-${n}`,
                roles: {
                  C: { node: "joiner", path: "/user/c", protocol: "Job/C" },
                  W: { node: "target", path: "/user/w", protocol: "Job/W" }
                },
                coordinator: { node: "joiner", path: `/user/session-${n}`, protocol: "Session(Job)" },
                traceLimit: 100
              }
            }),
            PER_FRAME
          )
        )
        const after = yield* heapUsed
        const watching = ActorSystem.internal(system).remoting!.watching
        assert.isBelow(
          after - before,
          8 * 1024 * 1024,
          `the heap grew by ${after - before} bytes (${watching} watches)`
        )
        assert.strictEqual(watching, 4_096, `${watching} coordinators watched for ${JOINS} Joins`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
