/**
 * Protocols of any length and depth are checked, projected, printed and monitored without overflowing the
 * stack, in time and memory polynomial in their size (issue 12, finding 3): long sequences, deep nesting,
 * and sub-protocols of sequential choices included in both branches of a choice, whose local types have
 * exponentially many paths but stay graphs as large as the protocol.
 */
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography, Diagram, LocalType, Monitor, StateMachine } from "../src/index.ts"

const V = Schema.Void

const build = (
  name: string,
  roles: ReadonlyArray<string>,
  body: ($: Choreography.Builder<string>) => Choreography.Steps
) => Effect.runSync(Effect.result(Choreography.make(name, roles, body)))

/** `n` messages, A and B in turn. */
const sequence = (n: number) => ($: Choreography.Builder<string>) =>
  Array.from({ length: n }, (_, i) => (i % 2 === 0 ? $.message("A", "B", `m${i}`, V) : $.message("B", "A", `m${i}`, V)))

/** 1,000 choices of A, each nested in the `in` branch of the one before; the innermost ends with `last`. */
const nestedChoices = ($: Choreography.Builder<string>, last: Choreography.Step) => {
  let steps: Choreography.Steps = [last]
  for (let i = 0; i < 1000; i++)
    steps = [
      $.choice("A", {
        [`in${i}`]: [$.message("A", "B", `in${i}`, V), ...steps],
        [`out${i}`]: [$.message("A", "B", `out${i}`, V)]
      })
    ]
  return steps
}

/** `n` choices of A, one after the other, each telling B a or b. */
const choices = (n: number) =>
  Choreography.makeUnsafe("Choices", ["A", "B"], ($) =>
    Array.from({ length: n }, (_, i) =>
      $.choice("A", { [`a${i}`]: [$.message("A", "B", `a${i}`, V)], [`b${i}`]: [$.message("A", "B", `b${i}`, V)] })
    )
  )

describe("protocols of any size", () => {
  it("checks 3,000 sequential messages, and monitors a run through all of them", () => {
    const made = build("Long", ["A", "B"], sequence(3000))
    expect(made._tag).toBe("Success")
    if (made._tag !== "Success") return
    const m = Monitor.make(made.success, "B", "s")
    let state = m.start
    for (let i = 0; i < 3000; i++) {
      const next =
        i % 2 === 0
          ? Monitor.receive(m, state, "A", `m${i}`, undefined)
          : Monitor.send(m, state, "A", `m${i}`, undefined)
      if (Monitor.isViolation(next)) throw next
      state = next
    }
    expect(Monitor.isEnd(m, state)).toBe(true)
    expect(LocalType.print(LocalType.project(made.success, "A"))).toMatch(/^B!m0\(\)\. B\?m1\(\)\. .* A?/)
  })

  it("checks 1,000 nested choices and 1,000 nested loops", () => {
    const deepChoices = build("DeepChoices", ["A", "B"], ($) => nestedChoices($, $.message("A", "B", "last", V)))
    expect(deepChoices._tag).toBe("Success")
    if (deepChoices._tag === "Success") expect(Diagram.protocol(deepChoices.success).split("\n")).toHaveLength(5004)
    const nestedLoops = build("DeepLoops", ["A", "B"], ($) => {
      let steps: Choreography.Steps = [$.message("A", "B", "x", V)]
      for (let i = 0; i < 1000; i++)
        steps = [
          $.loop(`L${i}`, [
            $.message("A", "B", `enter${i}`, V),
            ...steps,
            $.choice("A", {
              [`again${i}`]: [$.message("A", "B", `again${i}`, V), $.continue(`L${i}`)],
              [`done${i}`]: [$.message("A", "B", `done${i}`, V)]
            })
          ])
        ]
      return steps
    })
    expect(nestedLoops._tag).toBe("Success")
    if (nestedLoops._tag === "Success")
      expect(StateMachine.of(nestedLoops.success, "B").states.length).toBeGreaterThan(2000)
  })

  it("refuses a deep protocol's mistake with an error that names the protocol, not a stack overflow", () => {
    const made = build("DeepMistake", ["A", "B", "C"], ($) => nestedChoices($, $.message("A", "C", "late", V)))
    expect(made._tag).toBe("Failure")
    if (made._tag === "Failure") {
      expect(made.failure.protocol).toBe("DeepMistake")
      expect(made.failure.problems[0]).toMatchObject({ code: "UnmergeableBranches", role: "C" })
    }
  })

  it("checks a sub-protocol of 40 sequential choices included in both branches of a choice", () => {
    // Before: 21 s at n = 28, doubling with each choice.
    const Sub = choices(40)
    const made = build("Both", ["A", "B", "C"], ($) => [
      $.choice("C", {
        x: [$.message("C", "A", "x", V), $.include(Sub)],
        y: [$.message("C", "A", "y", V), $.include(Sub)]
      })
    ])
    expect(made._tag).toBe("Success")
    if (made._tag !== "Success") return
    // B never learns C's choice and need not: it acts the same either way. Its machine is as small as the protocol.
    expect(StateMachine.of(made.success, "B").states.length).toBe(41)
  })

  it("refuses such a protocol when the branches differ at the very end, quickly and naming the difference", () => {
    // Before: 30 s and 1.6 GB at n = 22, a crash at n = 24.
    const Sub = choices(40)
    const made = build("BothDiffer", ["A", "B", "C"], ($) => [
      $.choice("C", {
        x: [$.message("C", "A", "x", V), $.include(Sub), $.message("B", "C", "z", V)],
        y: [$.message("C", "A", "y", V), $.include(Sub), $.message("B", "C", "w", V)]
      })
    ])
    expect(made._tag).toBe("Failure")
    if (made._tag !== "Failure") return
    const [problem] = made.failure.problems
    expect(problem).toMatchObject({ code: "UnmergeableBranches", role: "B", branch: "y" })
    expect(problem!.message).toContain("C!z()")
    expect(problem!.message).toContain("C!w()")
    expect(problem!.message.length).toBeLessThan(1_000)
  })

  it("prints the local types of 24 sequential choices in text as long as the protocol", () => {
    // Before: `troupe protocol project` ran 68 s and crashed with "Invalid string length".
    const text = LocalType.print(LocalType.project(choices(24), "B"))
    expect(text.startsWith("A?{a0(), b0()}. A?{a1(), b1()}. ")).toBe(true)
    expect(text.endsWith("A?{a23(). end, b23(). end}")).toBe(true)
  })

  it("names the parts of a local type that its text would otherwise repeat exponentially often", () => {
    // Each choice is followed by a message of its own branch, so the branches rejoin one step later.
    const P = Choreography.makeUnsafe("Rejoin", ["A", "B"], ($) =>
      Array.from({ length: 24 }, (_, i) =>
        $.choice("A", {
          [`a${i}`]: [$.message("A", "B", `a${i}`, V), $.message("A", "B", "x", V)],
          [`b${i}`]: [$.message("A", "B", `b${i}`, V), $.message("A", "B", "y", V)]
        })
      )
    )
    const text = LocalType.print(LocalType.project(P, "B"))
    expect(text.length).toBeLessThan(5_000)
    expect(text).toMatch(
      /^A\?\{a0\(\)\. A\?x\(\)\. @1, b0\(\)\. A\?y\(\)\. @1\} where @1 = A\?\{a1\(\)\. A\?x\(\)\. @2, /
    )
  })
})
