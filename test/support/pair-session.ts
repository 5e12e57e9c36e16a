/**
 * The two-role durable session of the tests of a participant node (`durable-node-name-participant`,
 * `durable-join-refused`): an Author sends a Reviewer one draft. The participant node plays the reviewer at
 * `/user/r`; a coordinator node links to it, plays the author and runs the session.
 *
 * @example
 * ```ts
 * const p = yield* PairSession.node("p", true)
 * yield* p.spawn(PairSession.reviewer, { name: "r" }).pipe(Effect.provide(storage))
 * const outcome = yield* PairSession.run(p, { id: "s1", deadline: "20 seconds" }).pipe(Effect.provide(storage))
 * ```
 */
import { ActorSystem, Choreography, DurableSession, Session } from "@troupe/runtime"
import { WebSocket } from "@troupe/transport"
import { type Duration, Effect, Option, Schema } from "effect"

export const Pair = Choreography.makeUnsafe("Pair", ["Author", "Reviewer"], ($) => [
  $.message("Author", "Reviewer", "draft", Schema.String)
])

/** The Author: sends the draft "d". */
export const author = Session.role(Pair, "Author", (ep) =>
  Effect.flatMap(ep.send("Reviewer", "draft", "d"), (end) => end.close())
)

/** The Reviewer: takes the draft. */
export const reviewer = Session.role(Pair, "Reviewer", (ep) =>
  Effect.flatMap(ep.receive(), (draft) => draft.next.close())
)

/** The node `name` on a WebSocket transport (listening on a free port with `listen`), closed with the scope. */
export const node = (name: string, listen: boolean) =>
  ActorSystem.make({
    name,
    transport: WebSocket.layer({
      node: name,
      secret: "a pair session test secret",
      ...(listen ? { listen: { port: 0 } } : {})
    })
  })

/**
 * The coordinator node "c" links to `participant`, spawns the author, and runs durable session `id` of its author
 * with the participant's reviewer `/user/r` (on the Storage provided).
 */
export const run = (
  participant: ActorSystem.ActorSystemService,
  options: { readonly id: string; readonly deadline: Duration.Input }
) =>
  Effect.gen(function* () {
    const c = yield* node("c", false)
    yield* c.connect(Option.getOrThrow(participant.address))
    yield* c.spawn(author, { name: "a" })
    const roles = {
      Author: yield* c.lookup("/user/a", Session.protocolOf(Pair, "Author")),
      Reviewer: yield* c.lookup("/user/r", Session.protocolOf(Pair, "Reviewer"), { node: participant.node })
    }
    return yield* DurableSession.run(Pair, { roles, id: options.id, deadline: options.deadline }).pipe(
      Effect.provideService(ActorSystem.ActorSystem, c)
    )
  })
