/**
 * The protocol checker at sizes that crashed it or took exponential time before (issue 12): checking a
 * protocol of 1,000 sequential messages; checking a sub-protocol of 24 sequential choices included in both
 * branches of a choice (its local types have 2^24 paths); projecting and printing every role's local type
 * and state machine of the same protocol, as `troupe protocol project --machine` does.
 */
import { Choreography, LocalType, StateMachine } from "@troupe/choreography"
import { Schema } from "effect"
import { type Case, type Figure, median } from "./support.ts"

const V = Schema.Void

const sequence = (n: number) => () =>
  Choreography.makeUnsafe("Long", ["A", "B"], ($) =>
    Array.from({ length: n }, (_, i) =>
      i % 2 === 0 ? $.message("A", "B", `m${i}`, V) : $.message("B", "A", `m${i}`, V)
    )
  )

const choices = (n: number) => () => {
  const Sub = Choreography.makeUnsafe("Choices", ["A", "B"], ($) =>
    Array.from({ length: n }, (_, i) =>
      $.choice("A", { [`a${i}`]: [$.message("A", "B", `a${i}`, V)], [`b${i}`]: [$.message("A", "B", `b${i}`, V)] })
    )
  )
  return Choreography.makeUnsafe("Both", ["A", "B", "C"], ($) => [
    $.choice("C", {
      x: [$.message("C", "A", "x", V), $.include(Sub)],
      y: [$.message("C", "A", "y", V), $.include(Sub)]
    })
  ])
}

/** Median milliseconds of `f` over `rounds` runs, after a few to warm up. */
const millis = (f: () => unknown, rounds = 21): number => {
  for (let i = 0; i < 3; i++) f()
  const times: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    const start = performance.now()
    f()
    times.push(performance.now() - start)
  }
  return median(times)
}

export const figures = async (): Promise<ReadonlyArray<Figure>> => {
  const project = () => {
    const both = choices(24)()
    return both.roles.map(
      (role) => `${LocalType.print(LocalType.project(both, role))}\n${StateMachine.print(StateMachine.of(both, role))}`
    )
  }
  return [
    { name: "check_ms_1000_steps", value: millis(sequence(1000)), unit: "ms", goal: { atMost: 50 } },
    { name: "check_ms_24_choices", value: millis(choices(24)), unit: "ms", goal: { atMost: 50 } },
    { name: "project_ms_24_choices", value: millis(project), unit: "ms", goal: { atMost: 50 } }
  ]
}

export const cases: ReadonlyArray<Case> = [{ name: "checker", run: figures }]

if (import.meta.main) for (const f of await figures()) console.log(f.name, f.value)
