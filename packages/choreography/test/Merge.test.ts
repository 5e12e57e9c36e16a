/**
 * The merge rule (nuScr's full merge): a role outside a choice gets one local type for all branches when
 * it receives from one sender with labels that tell the branches apart, when it sends one and the same
 * message in every branch (what follows is merged in turn), or when it acts the same in every branch.
 */
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography, LocalType } from "../src/index.ts"

const V = Schema.Void

const problemsOf = (made: Effect.Effect<unknown, Choreography.ProtocolDefinitionError>) =>
  Effect.runSync(Effect.flip(made)).problems

describe("merge", () => {
  it("merges identical send prefixes: C sends Baz in both branches, then learns the branch from B", () => {
    // Issue 12, finding 1 (refused before: C was said not to learn the choice).
    const P = Choreography.makeUnsafe("IdenticalSends", ["A", "B", "C"], ($) => [
      $.choice("A", {
        Foo: [$.message("A", "B", "Foo", V), $.message("C", "B", "Baz", V), $.message("B", "C", "Foo", V)],
        Bar: [$.message("A", "B", "Bar", V), $.message("C", "B", "Baz", V), $.message("B", "C", "Bar", V)]
      })
    ])
    expect(LocalType.print(LocalType.project(P, "C"))).toBe("B!Baz(). B?{Foo(). end, Bar(). end}")
    expect(LocalType.print(LocalType.project(P, "B"))).toBe(
      "A?{Foo(). C?Baz(). C!Foo(). end, Bar(). C?Baz(). C!Bar(). end}"
    )
  })

  it("merges a send of the same message through several steps, and refuses one whose label differs", () => {
    const same = Choreography.makeUnsafe("Relay", ["A", "B", "C"], ($) => [
      $.choice("A", {
        x: [
          $.message("A", "B", "x", V),
          $.message("C", "B", "c1", V),
          $.message("C", "B", "c2", Schema.Number),
          $.message("B", "C", "x", V)
        ],
        y: [
          $.message("A", "B", "y", V),
          $.message("C", "B", "c1", V),
          $.message("C", "B", "c2", Schema.Number),
          $.message("B", "C", "y", V)
        ]
      })
    ])
    expect(LocalType.print(LocalType.project(same, "C"))).toBe("B!c1(). B!c2(number). B?{x(). end, y(). end}")
    const [problem] = problemsOf(
      Choreography.make("Differ", ["A", "B", "C"], ($) => [
        $.choice("A", {
          x: [$.message("A", "B", "x", V), $.message("C", "B", "c1", V), $.message("B", "C", "x", V)],
          y: [$.message("A", "B", "y", V), $.message("C", "B", "c2", V), $.message("B", "C", "y", V)]
        })
      ])
    )
    expect(problem).toMatchObject({ code: "UnmergeableBranches", role: "C", branch: "y" })
    expect(problem!.message).toContain(
      'in branch "x" it does `B!c1(). B?x(). end` but in branch "y" it does `B!c2(). B?y(). end`'
    )
  })

  it("refuses sends that are the same only in their label (payloads differ)", () => {
    const [problem] = problemsOf(
      Choreography.make("Payloads", ["A", "B", "C"], ($) => [
        $.choice("A", {
          x: [$.message("A", "B", "x", V), $.message("C", "B", "c", Schema.String), $.message("B", "C", "x", V)],
          y: [$.message("A", "B", "y", V), $.message("C", "B", "c", Schema.Number), $.message("B", "C", "y", V)]
        })
      ])
    )
    expect(problem).toMatchObject({ code: "UnmergeableBranches", role: "C" })
  })

  it("does not merge a role's own choice with another (nuScr: internal choices must be equal)", () => {
    const [problem] = problemsOf(
      Choreography.make("OwnChoice", ["A", "B", "C"], ($) => [
        $.choice("A", {
          x: [
            $.message("A", "B", "x", V),
            $.choice("C", { p: [$.message("C", "B", "p", V)], q: [$.message("C", "B", "q", V)] }),
            $.message("B", "C", "x", V)
          ],
          y: [
            $.message("A", "B", "y", V),
            $.choice("C", { p: [$.message("C", "B", "p", V)], q: [$.message("C", "B", "q", V)] }),
            $.message("B", "C", "y", V)
          ]
        })
      ])
    )
    expect(problem).toMatchObject({ code: "UnmergeableBranches", role: "C" })
  })

  it("says where two branches part, after what they share, without cutting the difference short", () => {
    const steps = Array.from({ length: 30 }, (_, i) => `m${i}`)
    const [problem] = problemsOf(
      Choreography.make("Long", ["A", "B", "C"], ($) => [
        $.choice("A", {
          x: [
            $.message("A", "B", "x", V),
            ...steps.map((l) => $.message("A", "C", l, V)),
            $.message("C", "A", "ok", V)
          ],
          y: [$.message("A", "B", "y", V), ...steps.map((l) => $.message("A", "C", l, V)), $.message("C", "A", "ko", V)]
        })
      ])
    )
    expect(problem).toMatchObject({ code: "UnmergeableBranches", role: "C" })
    // The 30 shared moves are summed up; both differing sends are named in full.
    expect(problem!.message).toContain("after `… A?m20(). A?m21(). A?m22()")
    expect(problem!.message).toContain("A?m29()` (the same in every branch)")
    expect(problem!.message).toContain('in branch "x" it does `A!ok(). end` but in branch "y" it does `A!ko(). end`')
  })
})
