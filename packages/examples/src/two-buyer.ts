/**
 * Two-Buyer, the classic choreography: buyers A and B share the cost of a book sold by S, and B decides.
 * The protocol is written once; Troupe checks it, projects it to each role (the seller learns B's decision
 * only from A's message, so its projection needs merging), and runs it with three actors. Then a buyer that
 * does not follow the protocol is stopped at once by the seller's monitor, and the session is aborted for all.
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples two-buyer`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, type Behavior, Choreography, Diagram, type Endpoint, LocalType, Session } from "@troupe/runtime"
import { Cause, Effect, Exit, Schema } from "effect"

const TwoBuyer = Choreography.makeUnsafe("TwoBuyer", ["A", "B", "S"], ($) => [
  $.message("A", "S", "title", Schema.String),
  $.message("S", "A", "quote", Schema.Number),
  $.message("S", "B", "quote", Schema.Number),
  $.message("A", "B", "split", Schema.Number),
  $.choice("B", {
    accept: [$.message("B", "A", "accept", Schema.Void), $.message("A", "S", "buy", Schema.String)],
    reject: [$.message("B", "A", "reject", Schema.Void), $.message("A", "S", "cancel", Schema.Void)]
  })
])

/** Buyer A asks for a title, offers to pay half, and buys if B agrees. */
const buyerA = (title: string) =>
  Session.role(TwoBuyer, "A", (ep) =>
    Effect.gen(function* () {
      const quote = yield* (yield* ep.send("S", "title", title)).receive()
      const decision = yield* (yield* quote.next.send("B", "split", quote.payload / 2)).receive()
      if (decision.label === "accept") {
        yield* decision.next.send("S", "buy", "221B Baker Street")
        return `A bought "${title}"`
      }
      yield* decision.next.send("S", "cancel")
      return "A cancelled"
    })
  )

/** Buyer B accepts when its share is at most its budget. */
const buyerB = (budget: number) =>
  Session.role(TwoBuyer, "B", (ep) =>
    Effect.gen(function* () {
      const quote = yield* ep.receive()
      const split = yield* quote.next.receive()
      const share = quote.payload - split.payload
      if (share <= budget) yield* split.next.send("A", "accept")
      else yield* split.next.send("A", "reject")
      return `B's share: ${share}`
    })
  )

/** The seller quotes 30 for any title. */
const seller = Session.role(TwoBuyer, "S", (ep) =>
  Effect.gen(function* () {
    const title = yield* ep.receive()
    const decision = yield* (yield* (yield* title.next.send("A", "quote", 30)).send("B", "quote", 30)).receive()
    yield* decision.next.close()
    return decision.label === "buy" ? `S ships to ${decision.payload}` : "S keeps the book"
  })
)

/** A buyer A that skips its turn: it sends `buy` before asking for a quote. */
const rudeA = Session.role(TwoBuyer, "A", (ep) =>
  (ep as unknown as Endpoint.UntypedEndpoint<Session.Failure>).send("S", "buy", "nowhere")
)

const program = Effect.gen(function* () {
  console.log("The seller's local type (projected from the protocol):")
  console.log(`  ${LocalType.print(LocalType.project(TwoBuyer, "S"))}\n`)

  /** Three actors, one per role, in one session. */
  const run = <R>(a: Behavior.Behavior<Session.Participant<typeof TwoBuyer, "A", R>, unknown>, budget: number) =>
    Effect.gen(function* () {
      const A = yield* ActorSystem.spawn(a)
      const B = yield* ActorSystem.spawn(buyerB(budget))
      const S = yield* ActorSystem.spawn(seller)
      return yield* Session.run(TwoBuyer, { roles: { A, B, S }, stepTimeout: "10 seconds" })
    })

  const done = yield* run(buyerA("Dune"), 20)
  console.log(`${done.results.A}; ${done.results.B}; ${done.results.S}`)
  console.log(`${Diagram.trace(done.trace)}\n`)

  const refused = yield* Effect.exit(run(rudeA, 20))
  if (Exit.isSuccess(refused)) throw new Error("the rude buyer should have been stopped")
  const error = Cause.squash(refused.cause)
  console.log(error instanceof Session.SessionAborted ? `Aborted: ${error.cause.message}` : String(error))
})

NodeRuntime.runMain(program.pipe(Effect.provide(ActorSystem.layer({ name: "two-buyer" }))))
