/**
 * A language model plays a role in a real choreography session: the roles are actors (here on two nodes
 * connected by WebSockets), the model's out-of-protocol moves are fed back to it and corrected before
 * anything leaves, and a model that never corrects itself fails the step with a typed error.
 */
import { assert, describe, it } from "@effect/vitest"
import { LlmRole, ScriptedModel, Turn } from "@troupe/llm"
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { Effect, Exit, Schema } from "effect"
import { topologies } from "./support/topology.ts"

const Haggle = Choreography.makeUnsafe("Haggle", ["Buyer", "Seller"], ($) => [
  $.message("Buyer", "Seller", "request", Schema.Struct({ item: Schema.String })),
  $.message("Seller", "Buyer", "quote", Schema.Finite),
  $.choice("Buyer", {
    accept: [$.message("Buyer", "Seller", "accept", Schema.Struct({ price: Schema.Finite }))],
    reject: [$.message("Buyer", "Seller", "reject", Schema.Void)]
  })
])

/** The seller is ordinary code. */
const seller = Session.role(Haggle, "Seller", (ep) =>
  Effect.gen(function* () {
    const request = yield* ep.receive()
    const decision = yield* (yield* request.next.send("Buyer", "quote", 30)).receive()
    yield* decision.next.close()
    return decision.label === "accept" ? `sold for ${decision.payload.price}` : "no sale"
  })
)

/** The buyer is a language model. */
const buyer = Session.role(
  Haggle,
  "Buyer",
  LlmRole.play({ system: "You buy things cheaply.", prompt: "Buy a lamp for at most 40.", maxCorrections: 2 })
)

const move = (to: string, label: string, payload: unknown) => Turn.object({ move: { to, label, payload } })

for (const topology of topologies) {
  describe(`a language model plays a role in a session of actors (${topology.name})`, () => {
    it.live("its out-of-protocol move is refused before it leaves, and corrected", () =>
      Effect.gen(function* () {
        const [home, other] = yield* topology.start(["home", "other"])
        const buyerRef = yield* home!.system.spawn(buyer, { name: "buyer" })
        const sellerOnOther = yield* other!.system.spawn(seller, { name: "seller" })
        const sellerRef = yield* home!.system.lookup(sellerOnOther.path, Session.protocolOf(Haggle, "Seller"), {
          node: "other"
        })
        const done = yield* Session.run(Haggle, {
          roles: { Buyer: buyerRef, Seller: sellerRef },
          stepTimeout: "20 seconds"
        }).pipe(Effect.provideService(ActorSystem.ActorSystem, home!.system))
        assert.strictEqual(done.results.Seller, "sold for 30")
        assert.strictEqual(done.results.Buyer.corrections, 1)
        // only legal messages crossed the wire
        assert.deepStrictEqual(
          done.trace
            .filter((e) => e._tag === "Sent")
            .map((e) => (e._tag === "Sent" ? `${e.from}->${e.to}:${e.label}` : "")),
          ["Buyer->Seller:request", "Seller->Buyer:quote", "Buyer->Seller:accept"]
        )
      }).pipe(
        Effect.provide(
          ScriptedModel.layer([
            move("Seller", "request", { item: "lamp" }),
            move("Seller", "buy", { price: 30 }), // out of protocol: "buy" is not a label
            move("Seller", "accept", { price: 30 })
          ])
        )
      )
    )

    it.live("a model that never corrects itself fails the step with a typed error, and the session aborts", () =>
      Effect.gen(function* () {
        const [home, other] = yield* topology.start(["home", "other"])
        const buyerRef = yield* home!.system.spawn(buyer, { name: "buyer" })
        const sellerOnOther = yield* other!.system.spawn(seller, { name: "seller" })
        const sellerRef = yield* home!.system.lookup(sellerOnOther.path, Session.protocolOf(Haggle, "Seller"), {
          node: "other"
        })
        const exit = yield* Effect.exit(
          Session.run(Haggle, { roles: { Buyer: buyerRef, Seller: sellerRef }, stepTimeout: "20 seconds" }).pipe(
            Effect.provideService(ActorSystem.ActorSystem, home!.system)
          )
        )
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
        assert.instanceOf(error, Session.SessionAborted)
        assert.include(String((error as Session.SessionAborted).cause), "InvalidMove")
      }).pipe(
        Effect.provide(
          ScriptedModel.layer([
            move("Seller", "buy", { item: "lamp" }),
            move("Bank", "request", { item: "lamp" }),
            move("Seller", "request", { item: 42 })
          ])
        )
      )
    )
  })
}
