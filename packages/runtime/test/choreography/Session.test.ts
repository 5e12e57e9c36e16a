import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ActorSystem, Diagram, Session } from "../../src/index.ts"
import { TwoBuyer } from "./fixtures.ts"

const seller = (price: number) =>
  Session.role(TwoBuyer, "S", (ep) =>
    Effect.gen(function* () {
      const title = yield* ep.receive()
      const quoted = yield* (yield* title.next.send("A", "quote", price)).send("B", "quote", price)
      const decision = yield* quoted.receive()
      yield* decision.next.close()
      return decision.label === "buy" ? `sold ${decision.payload}` : "no sale"
    })
  )

const buyerA = (title: string) =>
  Session.role(TwoBuyer, "A", (ep) =>
    Effect.gen(function* () {
      const quote = yield* (yield* ep.send("S", "title", title)).receive()
      const answer = yield* (yield* quote.next.send("B", "split", quote.payload / 2)).receive()
      if (answer.label === "accept") yield* (yield* answer.next.send("S", "buy", title)).close()
      else yield* (yield* answer.next.send("S", "cancel")).close()
      return answer.label
    })
  )

const buyerB = (budget: number) =>
  Session.role(TwoBuyer, "B", (ep) =>
    Effect.gen(function* () {
      const quote = yield* ep.receive()
      const split = yield* quote.next.receive()
      const answered =
        split.payload <= budget ? yield* split.next.send("A", "accept") : yield* split.next.send("A", "reject")
      yield* answered.close()
      return split.payload
    })
  )

describe("Session", () => {
  it.effect("runs Two-Buyer end to end with real actors", () =>
    Effect.gen(function* () {
      const S = yield* ActorSystem.spawn(seller(30), { name: "seller" })
      const A = yield* ActorSystem.spawn(buyerA("Dune"))
      const B = yield* ActorSystem.spawn(buyerB(20))
      const done = yield* Session.run(TwoBuyer, { roles: { A, B, S }, id: "tb-1" })
      assert.deepStrictEqual(done.results, { A: "accept", B: 15, S: "sold Dune" })
      assert.strictEqual(done.session, "tb-1")
      console.log(Diagram.trace(done.trace, { roles: TwoBuyer.roles }))
    }).pipe(Effect.provide(ActorSystem.layer()))
  )
})
