/**
 * Solved policies in real sessions of actors: nature and a policy play the lemons protocol move for move
 * with its game; a language model (scripted) gets the policy's recommendation in its context; a watcher
 * notes a dominated move in the session's trace.
 */
import { Choreography, Game, Lemons, Policy } from "@troupe/choreography"
import { type LanguageModel, LlmRole, ScriptedModel, Turn } from "@troupe/llm"
import { ActorSystem, Session } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Strategy } from "../src/index.ts"

const move = (to: string, label: string, payload: unknown) => Turn.object({ move: { to, label, payload } })
const sure = Policy.levelK(Lemons.game, {
  levels: 2,
  rationality: Number.POSITIVE_INFINITY,
  anchors: { Seller: Lemons.honestSeller }
})

const lemonsSession = (buyer: (ep: unknown) => Effect.Effect<unknown, unknown, LanguageModel.LanguageModel>) =>
  Effect.gen(function* () {
    const World = yield* ActorSystem.spawn(Session.role(Lemons.protocol, "World", Strategy.nature(Lemons.game)))
    const Seller = yield* ActorSystem.spawn(
      Session.role(Lemons.protocol, "Seller", Strategy.play(Lemons.game, sure[1]!.Seller!))
    )
    const Buyer = yield* ActorSystem.spawn(Session.role(Lemons.protocol, "Buyer", buyer))
    return yield* Session.run(Lemons.protocol, { roles: { World, Seller, Buyer }, stepTimeout: "10 seconds" })
  })

describe("policies in sessions", () => {
  it("nature draws, a level-1 seller asks the top price whatever the book, a level-0 buyer takes it as quality and buys", async () => {
    const results = await Effect.runPromise(
      Effect.forEach([1, 2, 3, 4, 5], () => lemonsSession(Strategy.play(Lemons.game, sure[0]!.Buyer!))).pipe(
        Effect.provide(Layer.merge(ActorSystem.layer(), ScriptedModel.layer([])))
      )
    )
    for (const done of results) {
      const seller = done.results.Seller as ReadonlyArray<string>
      const quality = /^quality\(([123])\)$/.exec(seller[0]!)![1]
      expect(seller.slice(1)).toEqual(["price(3)", "accept", `book(${quality})`])
      expect(done.results.Buyer).toEqual(["price(3)", "accept", `book(${quality})`])
    }
  })

  it("advise: the model reads the policy's recommendation with each request for a move", async () => {
    const { done, requests } = await Effect.runPromise(
      Effect.gen(function* () {
        const done = yield* lemonsSession(
          Strategy.advise(Lemons.game, sure[0]!.Buyer!, { system: "You buy used books." }) as never
        )
        return { done, requests: yield* ScriptedModel.requests }
      }).pipe(Effect.provide(Layer.merge(ActorSystem.layer(), ScriptedModel.layer([move("Seller", "reject", null)]))))
    )
    expect(done.trace.some((e) => e._tag === "Sent" && e.label === "reject")).toBe(true)
    const asked = JSON.stringify(requests[0]!.messages)
    expect(asked).toContain(
      "Advice: a level 0 (λ = Infinity) policy of the game behind this protocol plays accept with probability 1.00, reject with probability 0.00"
    )
  })

  it("watch: a dominated move is noted in the session's trace and reported; it still goes out", async () => {
    const Ultimatum = Choreography.makeUnsafe("Ultimatum", ["Proposer", "Responder"], ($) => [
      $.message("Proposer", "Responder", "offer", Schema.Literals([0, 1, 2])),
      $.choice("Responder", {
        take: [$.message("Responder", "Proposer", "take", Schema.Void)],
        leave: [$.message("Responder", "Proposer", "leave", Schema.Void)]
      })
    ])
    const game = Game.makeUnsafe(Ultimatum, {
      utilities: {
        Proposer: Game.values(Ultimatum, ["offer", "take"], (o) => (o.take ? 2 - o.offer! : 0)),
        Responder: Game.values(Ultimatum, ["offer", "take"], (o) => (o.take ? o.offer! : 0))
      }
    })
    const others = Policy.levelK(game, { levels: 0 })[0]!
    const found: Array<Strategy.Dominated> = []
    const proposer = Session.role(Ultimatum, "Proposer", (ep) =>
      Effect.flatMap(ep.send("Responder", "offer", 1), (next) =>
        Effect.flatMap(next.receive(), (got) => Effect.as(got.next.close(), got.label))
      )
    )
    const responder = Session.role(
      Ultimatum,
      "Responder",
      Strategy.watch(game, "Responder", others, LlmRole.play({ system: "You respond." }), (d) =>
        Effect.sync(() => found.push(d))
      )
    )
    const done = await Effect.runPromise(
      Effect.gen(function* () {
        const Proposer = yield* ActorSystem.spawn(proposer)
        const Responder = yield* ActorSystem.spawn(responder)
        return yield* Session.run(Ultimatum, { roles: { Proposer, Responder }, stepTimeout: "10 seconds" })
      }).pipe(Effect.provide(Layer.merge(ActorSystem.layer(), ScriptedModel.layer([move("Proposer", "leave", null)]))))
    )
    expect(done.results.Proposer).toBe("leave")
    expect(found).toEqual([
      {
        role: "Responder",
        view: "offer(1)",
        move: "leave",
        recommended: expect.stringContaining("take with probability")
      }
    ])
    expect(done.trace).toContainEqual({
      _tag: "Note",
      role: "Responder",
      text: "dominated: Responder played leave after offer(1) (to Proposer)"
    })
  })

  it("simulate with an LLM chooser on the scripted model against a solved seller", async () => {
    const report = await Effect.runPromise(
      Effect.gen(function* () {
        const buyer = yield* Strategy.llmChooser({ system: "You buy used books." })
        return yield* Policy.simulate(Lemons.game, {
          players: { Seller: sure[1]!.Seller!, Buyer: buyer },
          runs: 20,
          seed: 2
        })
      }).pipe(Effect.provide(ScriptedModel.layer(() => Turn.object({ move: "reject" }))))
    )
    // The level-1 seller always asks 3; the model always rejects: every run ends the same way, paying 0.
    expect(report.moves["Buyer after price(3)"]).toEqual({ reject: 20 })
    expect(report.payoffs).toEqual({ Seller: 0, Buyer: 0 })
  })
})
