import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography, Diagram, LocalType, StateMachine } from "../src/index.ts"
import { Travel, TwoBuyer } from "./fixtures.ts"

describe("StateMachine", () => {
  it("numbers the states of a role breadth-first and prints them", () => {
    expect(StateMachine.print(StateMachine.of(TwoBuyer, "S"))).toBe(
      [
        "TwoBuyer/S (start 0)",
        "  0: A?title(string) -> 1",
        "  1: A!quote(number) -> 2",
        "  2: B!quote(number) -> 3",
        "  3: A?buy(string) -> 4, A?cancel() -> 4",
        "  4: end"
      ].join("\n")
    )
  })

  it("exports states and transitions as data", () => {
    const machine = StateMachine.of(TwoBuyer, "B")
    expect(machine).toMatchObject({ protocol: "TwoBuyer", role: "B", start: 0 })
    expect(machine.states[2]).toMatchObject({
      id: 2,
      kind: "send",
      peer: "A",
      transitions: [
        { from: 2, to: 3, direction: "send", peer: "A", label: "accept", payload: Schema.Void },
        { from: 2, to: 3, direction: "send", peer: "A", label: "reject", payload: Schema.Void }
      ]
    })
  })

  it("turns continue into an edge back to the loop's first state", () => {
    expect(StateMachine.print(StateMachine.of(Travel, "Customer"))).toBe(
      [
        "Travel/Customer (start 0)",
        "  0: Agency!suggest(string) -> 1",
        "  1: Agency?quote(number) -> 2, Agency?full() -> 0",
        "  2: Agency!accept({ name: string, card: string }) -> 3, Agency!decline() -> 3",
        "  3: end"
      ].join("\n")
    )
  })

  it("has no end state for a role that loops forever", () => {
    const Heartbeat = Choreography.makeUnsafe("Heartbeat", ["A", "B"], ($) => [
      $.loop("Beat", [
        $.message("A", "B", "ping", Schema.Void),
        $.message("B", "A", "pong", Schema.Void),
        $.continue("Beat")
      ])
    ])
    expect(LocalType.print(LocalType.project(Heartbeat, "A"))).toBe("rec Beat. B!ping(). B?pong(). continue Beat")
    const machine = StateMachine.of(Heartbeat, "A")
    expect(machine.states.map((s) => s.kind)).toEqual(["send", "receive"])
    expect(machine.states[1]!.transitions[0]!.to).toBe(0)
  })

  it("draws as a Mermaid state diagram", () => {
    expect(Diagram.stateMachine(StateMachine.of(TwoBuyer, "S"))).toBe(
      [
        "stateDiagram-v2",
        "  [*] --> s0",
        "  s0 --> s1: A?title(string)",
        "  s1 --> s2: A!quote(number)",
        "  s2 --> s3: B!quote(number)",
        "  s3 --> s4: A?buy(string)",
        "  s3 --> s4: A?cancel()",
        "  s4 --> [*]"
      ].join("\n")
    )
  })
})
