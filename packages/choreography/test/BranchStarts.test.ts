/**
 * A branch may start with a choice by the same role, a loop or a `continue` (issue 12, finding 5), as in
 * nuScr and Scribble: its first messages are found through them, and the chooser and the role it tells
 * see those messages. Cases after Scribble's test suite (good/efsm/gcontinue/choiceunguarded).
 */
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography, LocalType, Monitor, StateMachine } from "../src/index.ts"

const V = Schema.Void

const make = (
  name: string,
  roles: ReadonlyArray<string>,
  body: ($: Choreography.Builder<string>) => Choreography.Steps
) => Effect.runSync(Effect.result(Choreography.make(name, roles, body)))

const local = (p: Choreography.Protocol, role: string) => LocalType.print(LocalType.project(p, role))

/** Runs `moves` of `role` through its monitor and answers whether it ends at the end. */
const runs = (
  p: Choreography.Protocol,
  role: string,
  moves: ReadonlyArray<readonly ["!" | "?", string, string, unknown?]>
) => {
  const m = Monitor.make(p, role, "s")
  let state = m.start
  for (const [dir, peer, label, payload] of moves) {
    const next =
      dir === "!" ? Monitor.send(m, state, peer, label, payload) : Monitor.receive(m, state, peer, label, payload)
    if (Monitor.isViolation(next)) throw next
    state = next
  }
  return Monitor.isEnd(m, state)
}

describe("branches that start with a choice, a loop or a continue", () => {
  it("a branch that starts with a choice by the same role offers that choice's labels", () => {
    const made = make("Grouped", ["A", "B"], ($) => [
      $.choice("A", {
        small: [$.choice("A", { one: [$.message("A", "B", "one", V)], two: [$.message("A", "B", "two", V)] })],
        many: [$.message("A", "B", "many", Schema.Number)]
      })
    ])
    expect(made._tag).toBe("Success")
    if (made._tag !== "Success") return
    expect(local(made.success, "A")).toBe("B!{one(). end, two(). end, many(number). end}")
    expect(local(made.success, "B")).toBe("A?{one(). end, two(). end, many(number). end}")
  })

  it("a branch that starts with a loop: the chooser and the receiver see its first message, unfolded", () => {
    const stream = (relay: boolean) =>
      make("Stream", relay ? ["A", "B", "C"] : ["A", "B"], ($) => [
        $.choice("A", {
          stream: [
            $.loop("L", [
              $.choice("A", {
                item: [
                  $.message("A", "B", "item", Schema.Number),
                  ...(relay ? [$.message("B", "C", "item", Schema.Number)] : []),
                  $.continue("L")
                ],
                done: [$.message("A", "B", "done", V), ...(relay ? [$.message("B", "C", "done", V)] : [])]
              })
            ])
          ],
          none: [$.message("A", "B", "none", V), ...(relay ? [$.message("B", "C", "done", V)] : [])]
        })
      ])
    const made = stream(false)
    expect(made._tag).toBe("Success")
    if (made._tag !== "Success") return
    expect(local(made.success, "A")).toBe(
      "B!{item(number). rec L. B!{item(number). continue L, done(). end}, done(). end, none(). end}"
    )
    expect(
      runs(made.success, "B", [
        ["?", "A", "item", 1],
        ["?", "A", "item", 2],
        ["?", "A", "done"]
      ])
    ).toBe(true)
    expect(runs(made.success, "B", [["?", "A", "none"]])).toBe(true)
    // A role outside the choice gets the loop in one branch and a receive in the other: nuScr's merge (ours)
    // wants them equal; C would learn the branch from B's next label, which Scribble accepts.
    const relayed = stream(true)
    expect(relayed._tag === "Failure" && relayed.failure.problems[0]).toMatchObject({
      code: "UnmergeableBranches",
      role: "C"
    })
  })

  it("a branch that is a continue starts the loop again: its first messages are the loop's (Scribble Test08)", () => {
    const made = make("Test08", ["A", "B"], ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [
            $.message("A", "B", "1", V),
            $.choice("A", { again: [$.continue("X")], "3": [$.message("A", "B", "3", V)] })
          ],
          "2": [$.message("A", "B", "2", V)]
        })
      ])
    ])
    expect(made._tag).toBe("Success")
    if (made._tag !== "Success") return
    // After 1, A chooses between 3 and starting again (1 or 2).
    expect(StateMachine.print(StateMachine.of(made.success, "A"))).toBe(
      ["Test08/A (start 0)", "  0: B!1() -> 1, B!2() -> 2", "  1: B!3() -> 2, B!1() -> 1, B!2() -> 2", "  2: end"].join(
        "\n"
      )
    )
    expect(
      runs(made.success, "B", [
        ["?", "A", "1"],
        ["?", "A", "1"],
        ["?", "A", "1"],
        ["?", "A", "3"]
      ])
    ).toBe(true)
    expect(
      runs(made.success, "B", [
        ["?", "A", "1"],
        ["?", "A", "2"]
      ])
    ).toBe(true)
  })

  it("branches that continue two different loops (Scribble Test02b)", () => {
    const made = make("Test02b", ["A", "B"], ($) => [
      $.loop("Y", [
        $.message("A", "B", "0", V),
        $.loop("X", [$.message("A", "B", "1", V), $.choice("A", { y: [$.continue("Y")], x: [$.continue("X")] })])
      ])
    ])
    expect(made._tag).toBe("Success")
    if (made._tag !== "Success") return
    expect(local(made.success, "B")).toBe("A?0(). rec Y′. A?1(). rec X′. A?{0(). continue Y′, 1(). continue X′}")
    expect(
      runs(made.success, "A", [
        ["!", "B", "0"],
        ["!", "B", "1"],
        ["!", "B", "1"],
        ["!", "B", "0"],
        ["!", "B", "1"]
      ])
    ).toBe(false)
  })

  it("refuses a continue whose loop does not start with the chooser's message, or repeats a label", () => {
    const notFirst = make("NotFirst", ["A", "B"], ($) => [
      $.loop("X", [
        $.message("B", "A", "ask", V),
        $.choice("A", { again: [$.continue("X")], stop: [$.message("A", "B", "stop", V)] })
      ])
    ])
    expect(notFirst._tag === "Failure" && notFirst.failure.problems[0]).toMatchObject({
      code: "ChooserNotFirst",
      branch: "again",
      label: "ask"
    })
    const twice = make("Twice", ["A", "B"], ($) => [
      $.loop("X", [
        $.message("A", "B", "go", V),
        $.choice("A", { again: [$.continue("X")], go: [$.message("A", "B", "go", V)] })
      ])
    ])
    expect(twice._tag === "Failure" && twice.failure.problems[0]).toMatchObject({ code: "DuplicateLabel", label: "go" })
  })

  it("a role outside the choice must act the same in a continue branch as in the others (nuScr's rule)", () => {
    // Scribble accepts this (C's next message tells it); nuScr refuses it: C's projections differ
    // (`continue X` against `B?stop`). Refusing is the conservative verdict.
    const made = make("Third", ["A", "B", "C"], ($) => [
      $.loop("X", [
        $.message("A", "B", "a", V),
        $.message("B", "C", "c", V),
        $.choice("A", {
          more: [$.continue("X")],
          stop: [$.message("A", "B", "stop", V), $.message("B", "C", "stop", V)]
        })
      ])
    ])
    expect(made._tag === "Failure" && made.failure.problems[0]).toMatchObject({
      code: "UnmergeableBranches",
      role: "C"
    })
  })
})
