/**
 * Sub-protocols with role arguments and recursive ones (issue 12, finding 5): `$.include(P, renaming)`
 * inlines P with its roles renamed; `$.include($.self, renaming)` includes the protocol being defined,
 * unfolded into loops as Scribble unfolds a recursive `do` (one loop per renaming, a `continue` when a
 * renaming comes round again).
 */
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography, Diagram, LocalType, Monitor } from "../src/index.ts"

const V = Schema.Void

/** A token goes round a ring; whoever holds it passes it on or keeps it, telling both others. */
const Ring = Choreography.makeUnsafe("Ring", ["A", "B", "C"], ($) => [
  $.message("A", "B", "token", Schema.Number),
  $.choice("B", {
    pass: [
      $.message("B", "C", "pass", V),
      $.message("B", "A", "passed", V),
      $.include($.self, { A: "B", B: "C", C: "A" })
    ],
    keep: [$.message("B", "C", "keep", V), $.message("B", "A", "kept", V)]
  })
])

describe("recursive sub-protocols", () => {
  it("unfolds a protocol that includes itself with its roles rotated into one loop per rotation", () => {
    expect(LocalType.print(LocalType.project(Ring, "C"))).toBe(
      "rec Ring. B?{pass(). B?token(number). A!{pass(). B!passed(). A!token(number). A?{passed(). continue Ring, kept(). end}, keep(). B!kept(). end}, keep(). end}"
    )
    // Two full rounds and a keep, as A sees them.
    const m = Monitor.make(Ring, "A", "s")
    let state = m.start
    const round: ReadonlyArray<readonly ["!" | "?", string, string, unknown]> = [
      ["!", "B", "token", 1],
      ["?", "B", "passed", undefined],
      ["?", "C", "pass", undefined],
      ["?", "C", "token", 2],
      ["!", "B", "pass", undefined],
      ["!", "C", "passed", undefined]
    ]
    for (const [dir, peer, label, payload] of [
      ...round,
      ...round,
      ["!", "B", "token", 3] as const,
      ["?", "B", "kept", undefined] as const
    ]) {
      const next =
        dir === "!" ? Monitor.send(m, state, peer, label, payload) : Monitor.receive(m, state, peer, label, payload)
      if (Monitor.isViolation(next)) throw next
      state = next
    }
    expect(Monitor.isEnd(m, state)).toBe(true)
  })

  it("draws the recursive include as the protocol again, with its renaming", () => {
    expect(Diagram.protocol(Ring)).toContain("Note over A,C: Ring again (B as A, C as B, A as C)")
  })

  it("a protocol that includes itself unchanged is a loop", () => {
    const Chat = Choreography.makeUnsafe("Chat", ["A", "B"], ($) => [
      $.choice("A", {
        say: [$.message("A", "B", "say", Schema.String), $.message("B", "A", "ack", V), $.include($.self)],
        bye: [$.message("A", "B", "bye", V)]
      })
    ])
    expect(LocalType.print(LocalType.project(Chat, "B"))).toBe(
      "rec Chat. A?{say(string). A!ack(). continue Chat, bye(). end}"
    )
  })

  it("refuses a recursive include that is not the last step of its list", () => {
    const made = Effect.runSync(
      Effect.result(
        Choreography.make("Nested", ["A", "B"], ($) => [
          $.choice("A", {
            open: [$.message("A", "B", "open", V), $.include($.self), $.message("A", "B", "close", V)],
            leaf: [$.message("A", "B", "leaf", V)]
          })
        ])
      )
    )
    expect(made._tag === "Failure" && made.failure.problems[0]).toMatchObject({ code: "NonTailRecursion" })
  })

  it("refuses a recursive include that steps follow after the choice around it (Scribble gdo/Test05b)", () => {
    const made = Effect.runSync(
      Effect.result(
        Choreography.make("Foo", ["A", "B"], ($) => [
          $.choice("A", {
            "1": [$.message("A", "B", "1", V), $.include($.self)],
            "2": [$.message("A", "B", "2", V)]
          }),
          $.message("A", "B", "3", V)
        ])
      )
    )
    // Accepted before, as a loop that skipped "3" after every "1".
    expect(made._tag === "Failure" && made.failure.problems[0]).toMatchObject({ code: "NonTailRecursion" })
  })

  it("a recursive protocol included in another recurs on its own, not on the protocol that includes it", () => {
    const Ticks = Choreography.makeUnsafe("Ticks", ["C", "D"], ($) => [
      $.message("C", "D", "tick", V),
      $.include($.self)
    ])
    const Clock = Choreography.makeUnsafe("Clock", ["A", "B"], ($) => [
      $.message("A", "B", "start", V),
      $.include(Ticks, { C: "A", D: "B" })
    ])
    // Before, `$.self` of Ticks meant Clock once included: A sent "start" again every round.
    expect(LocalType.print(LocalType.project(Clock, "A"))).toBe("B!start(). rec Ticks. B!tick(). continue Ticks")
    expect(LocalType.print(LocalType.project(Clock, "B"))).toBe("A?start(). rec Ticks. A?tick(). continue Ticks")
  })

  it("checks what a recursive protocol's rounds ask of each role: a role not told of a choice is refused", () => {
    const made = Effect.runSync(
      Effect.result(
        Choreography.make("Untold", ["A", "B", "C"], ($) => [
          $.message("A", "B", "token", Schema.Number),
          $.choice("B", {
            pass: [$.message("B", "C", "pass", V), $.include($.self, { A: "B", B: "C", C: "A" })],
            keep: [$.message("B", "C", "keep", V), $.message("C", "A", "kept", V)]
          })
        ])
      )
    )
    expect(made._tag === "Failure" && made.failure.problems[0]).toMatchObject({
      code: "UnmergeableBranches",
      role: "C"
    })
  })
})
