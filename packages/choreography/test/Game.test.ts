/**
 * The game behind a protocol: strategic annotations checked (a utility that reads what its role cannot
 * observe is refused), compiled to an extensive-form game (chance, decisions, information sets from what
 * each role observed, loops unrolled to the horizon), exported in Gambit's format, solved by backward
 * induction and level-k quantal reasoning, and simulated. The market for lemons reproduced with the
 * parameters of docs/agreement.md.
 */
import { Effect, Exit, Schema } from "effect"
import { describe, expect, it } from "vitest"

import { Choreography, Game, Lemons, Policy } from "../src/index.ts"

const failure = <E>(exit: Exit.Exit<unknown, E>): E | undefined =>
  Exit.isFailure(exit)
    ? (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: E } | undefined)?.error
    : undefined

// An ultimatum game: the proposer offers a split of 4, the responder accepts or rejects; perfect information.
const Ultimatum = Choreography.makeUnsafe("Ultimatum", ["Proposer", "Responder"], ($) => [
  $.message("Proposer", "Responder", "offer", Schema.Literals([0, 1, 2, 3, 4])),
  $.choice("Responder", {
    take: [$.message("Responder", "Proposer", "take", Schema.Void)],
    leave: [$.message("Responder", "Proposer", "leave", Schema.Void)]
  })
])
const ultimatum = Game.makeUnsafe(Ultimatum, {
  utilities: {
    Proposer: Game.values(Ultimatum, ["offer", "take"], (o) => (o.take ? 4 - o.offer! : 0)),
    Responder: Game.values(Ultimatum, ["offer", "take"], (o) => (o.take ? o.offer! + 0.5 : 0))
  }
})

describe("strategic annotations", () => {
  it("refuses a utility that reads what its role never observes, naming the role, the label and who sees it", () => {
    const exit = Effect.runSyncExit(
      Game.make(Lemons.protocol, {
        nature: "World",
        utilities: { Buyer: Game.values(Lemons.protocol, ["quality", "price"], (o) => o.quality! - o.price!) }
      })
    )
    const error = failure(exit)
    expect(error).toBeInstanceOf(Game.GameDefinitionError)
    expect(error?.problems).toEqual([
      expect.objectContaining({ code: "UnobservedRead", role: "Buyer", label: "quality" })
    ])
    expect(error?.message).toContain(
      'the utility of Buyer reads "quality", which Buyer never observes (it goes World -> Seller)'
    )
  })

  it("refuses a utility that reads a label it did not declare, and one that is not a number", () => {
    const sneaky = Effect.runSyncExit(
      Game.make(Ultimatum, {
        utilities: { Responder: { reads: ["take"], value: (o: Record<string, unknown>) => Number(o.offer ?? 0) } }
      })
    )
    expect(failure(sneaky)?.problems[0]).toMatchObject({ code: "UndeclaredRead", role: "Responder", label: "offer" })
    const notANumber = Effect.runSyncExit(
      Game.make(Ultimatum, { utilities: { Responder: Game.values(Ultimatum, ["offer"], () => Number.NaN) } })
    )
    expect(failure(notANumber)?.problems[0]?.code).toBe("UtilityFailed")
  })

  it("refuses a strategic payload without a finite domain until one is given", () => {
    const Haggle = Choreography.makeUnsafe("Haggle", ["A", "B"], ($) => [$.message("A", "B", "bid", Schema.Number)])
    expect(failure(Effect.runSyncExit(Game.make(Haggle, {})))?.problems[0]).toMatchObject({
      code: "NoFiniteDomain",
      label: "bid"
    })
    const game = Game.makeUnsafe(Haggle, { domains: { bid: [10, 20] } })
    expect(game.infosets.map((i) => i.actions)).toEqual([["bid(10)", "bid(20)"]])
  })
})

describe("the extensive-form game", () => {
  it("groups the buyer's nodes by what it observed: the price, not the quality (information sets from projection)", () => {
    const buyer = Lemons.game.infosets.filter((i) => i.player === "Buyer")
    expect(buyer.map((i) => [Game.describeInfoSet(i), i.nodes.length])).toEqual([
      ["Buyer after price(1)", 3],
      ["Buyer after price(2)", 3],
      ["Buyer after price(3)", 3]
    ])
    const seller = Lemons.game.infosets.filter((i) => i.player === "Seller")
    expect(seller.map((i) => i.nodes.length)).toEqual([1, 1, 1])
  })

  it("unrolls loops to the horizon, cutting runs there", () => {
    const Ask = Choreography.makeUnsafe("Ask", ["A", "B"], ($) => [
      $.loop("Round", [
        $.message("A", "B", "ask", Schema.Void),
        $.choice("B", {
          yes: [$.message("B", "A", "yes", Schema.Void)],
          again: [$.message("B", "A", "again", Schema.Void), $.continue("Round")]
        })
      ])
    ])
    const sizes = [0, 1, 3].map((horizon) => Game.makeUnsafe(Ask, { horizon }))
    expect(sizes.map((g) => g.infosets.length)).toEqual([1, 2, 4])
    expect(Game.print(sizes[1]!)).toContain("end (horizon)")
  })

  it("exports Gambit's .efg: players, chance with probabilities, numbered information sets, outcomes", () => {
    const efg = Game.toEfg(Lemons.game).split("\n")
    expect(efg[0]).toBe('EFG 2 R "Lemons" { "Seller" "Buyer" }')
    expect(efg[3]).toBe(
      'c "" 1 "quality" { "quality(1)" 0.333333333333 "quality(2)" 0.333333333333 "quality(3)" 0.333333333333 } 0'
    )
    expect(efg[4]).toBe('p "" 1 1 "Seller after quality(1)" { "price(1)" "price(2)" "price(3)" } 0')
    expect(efg[5]).toBe('p "" 2 1 "Buyer after price(1)" { "accept" "reject" } 0')
    expect(efg[6]).toBe('t "" 1 "quality(1) price(1) accept book(1)" { 0.2 0.5 }')
    // Each information set keeps its number wherever it recurs; 18 outcomes in all.
    expect(efg.filter((l) => l.startsWith('p "" 2 1 '))).toHaveLength(3)
    expect(efg.filter((l) => l.startsWith("t "))).toHaveLength(18)
  })
})

describe("solvers", () => {
  it("backward induction: the proposer offers the least the responder still takes", async () => {
    const { profile, payoffs } = await Effect.runPromise(Policy.backwardInduction(ultimatum))
    expect(payoffs).toEqual({ Proposer: 4, Responder: 0.5 })
    expect(Policy.print(ultimatum, profile.Proposer!)).toContain("Proposer after nothing: offer(0) 1.00")
  })

  it("backward induction refuses a game of imperfect information, naming the information set", async () => {
    const exit = await Effect.runPromiseExit(Policy.backwardInduction(Lemons.game))
    expect(failure(exit)?.message).toContain("Buyer after price(1) groups 3 nodes")
  })

  it("level-k with infinite rationality agrees with backward induction on a perfect-information game", () => {
    const levels = Policy.levelK(ultimatum, { levels: 2, rationality: Number.POSITIVE_INFINITY })
    expect(Policy.print(ultimatum, levels[2]!.Proposer!)).toContain("offer(0) 1.00")
  })

  it("the market for lemons: at level 0 the buyer reads price as quality and the seller exploits it; acceptance then flattens", () => {
    const levels = Policy.levelK(Lemons.game, { levels: 4, rationality: 1, anchors: { Seller: Lemons.honestSeller } })
    const accept = levels.map((p) => Lemons.acceptance(p.Buyer!))
    // Level 0: the higher the price, the likelier the buyer accepts (a high price reads as a good book).
    expect(accept[0]![0]!).toBeLessThan(accept[0]![1]!)
    expect(accept[0]![1]!).toBeLessThan(accept[0]![2]!)
    // The seller exploits it: a level-1 seller of a lemon asks the highest price more than a level-0 one.
    const lemon = Policy.infosetOf(Lemons.game, "Seller", ["quality(1)"])!
    const highPrice = (l: number) => Object.fromEntries(Policy.at(levels[l]!.Seller!, lemon))["price(3)"]!
    expect(highPrice(1)).toBeGreaterThan(highPrice(0))
    expect(highPrice(1)).toBeGreaterThan(0.5)
    // From level 1 on, a high price no longer buys trust: acceptance falls with price…
    for (const curve of accept.slice(1)) expect(curve[0]!).toBeGreaterThan(curve[2]!)
    // …and the curve flattens across levels: each level moves it less than the step from level 0 to 1.
    const moved = (l: number) => Math.max(...accept[l]!.map((a, i) => Math.abs(a - accept[l - 1]![i]!)))
    expect(moved(1)).toBeGreaterThan(0.3)
    for (const l of [2, 3, 4]) expect(moved(l)).toBeLessThan(0.05)
  })

  it("finds a strictly dominated move for a watcher", () => {
    const levels = Policy.levelK(ultimatum, { levels: 1, rationality: Number.POSITIVE_INFINITY })
    const responder = Policy.infosetOf(ultimatum, "Responder", ["offer(1)"])!
    expect(Policy.dominated(responder, "leave", levels[1]!)).toBe(true)
    expect(Policy.dominated(responder, "take", levels[1]!)).toBe(false)
  })
})

describe("simulation", () => {
  it("plays a game many times under solved and scripted policies, reproducibly by seed", async () => {
    const levels = Policy.levelK(Lemons.game, { levels: 1, rationality: 1, anchors: { Seller: Lemons.honestSeller } })
    const honest = (infoset: Game.InfoSet) => Lemons.honestSeller(infoset)
    const run = (seed: number) =>
      Effect.runPromise(
        Policy.simulate(Lemons.game, { players: { Seller: honest, Buyer: levels[0]!.Buyer! }, runs: 3000, seed })
      )
    const report = await run(7)
    expect(report.runs).toBe(3000)
    // An honest seller and a buyer who trusts the price: the buyer gains 0.5·price on average when it buys.
    expect(report.payoffs.Buyer!).toBeGreaterThan(0.6)
    expect(report.payoffs.Buyer!).toBeLessThan(1)
    expect(Object.keys(report.moves["Seller after quality(1)"]!)).toEqual(["price(1)"])
    expect(await run(7)).toEqual(report)
  })

  it("an Effect chooser (a model's call) that fails ends the simulation with its player and information set", async () => {
    const exit = await Effect.runPromiseExit(
      Policy.simulate(Lemons.game, { players: { Buyer: () => Effect.fail(new Error("model down")) }, runs: 1 })
    )
    expect(failure(exit)).toMatchObject({ _tag: "SimulationFailed", player: "Buyer", reason: "model down" })
  })
})
