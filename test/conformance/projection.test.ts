/**
 * The conformance corpus: every good protocol projects to the local types written out by hand, and
 * every refused protocol fails with a ProtocolDefinitionError that names the problem.
 */
import { Choreography, LocalType, Monitor, StateMachine } from "@troupe/runtime"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { corpus } from "./corpus.ts"
import { refused } from "./protocols/Refused.ts"
import * as TravelAgency from "./protocols/TravelAgency.ts"
import * as TwoBuyer from "./protocols/TwoBuyer.ts"

describe("conformance: projection", () => {
  for (const { protocol, expected } of corpus) {
    it(`${protocol.name}: every role projects to the expected local type`, () => {
      const actual = Object.fromEntries(protocol.roles.map((r) => [r, LocalType.print(LocalType.project(protocol, r))]))
      expect(actual).toEqual(expected)
    })

    it(`${protocol.name}: every state of every role is reachable and deterministic`, () => {
      for (const role of protocol.roles) {
        const machine = StateMachine.of(protocol, role)
        expect(machine.states[machine.start]).toBeDefined()
        for (const state of machine.states) {
          const labels = state.transitions.map((t) => t.label)
          expect(new Set(labels).size).toBe(labels.length)
          expect(state.transitions.every((t) => t.peer === state.peer)).toBe(true)
          expect(state.kind === "end").toBe(state.transitions.length === 0)
        }
      }
    })
  }

  it("Two-Buyer: the seller's projection is A?title. A!quote. B!quote. A?{buy, cancel}", () => {
    const seller = LocalType.project(TwoBuyer.TwoBuyer, "S")
    expect(seller).toMatchObject({
      _tag: "Receive",
      peer: "A",
      branches: [
        {
          label: "title",
          next: {
            _tag: "Send",
            peer: "A",
            branches: [
              {
                label: "quote",
                next: {
                  _tag: "Send",
                  peer: "B",
                  branches: [
                    {
                      label: "quote",
                      next: {
                        _tag: "Receive",
                        peer: "A",
                        branches: [
                          { label: "buy", next: { _tag: "End" } },
                          { label: "cancel", next: { _tag: "End" } }
                        ]
                      }
                    }
                  ]
                }
              }
            ]
          }
        }
      ]
    })
  })

  it("Travel Agency: the agency's monitor follows two rounds and a booking", () => {
    const m = Monitor.make(TravelAgency.TravelAgency, "A", "s-1")
    const moves: ReadonlyArray<readonly ["send" | "receive", string, string, unknown]> = [
      ["receive", "B", "Suggest", "Rome"],
      ["send", "S", "Query", "Rome"],
      ["receive", "S", "Full", undefined],
      ["send", "B", "Full", undefined],
      ["receive", "B", "Suggest", "Oslo"],
      ["send", "S", "Query", "Oslo"],
      ["receive", "S", "Available", 120],
      ["send", "B", "Quote", 120],
      ["receive", "B", "OK", 120],
      ["send", "S", "Confirm", { name: "Ada", card: "4242" }]
    ]
    let state = m.start
    for (const [direction, peer, label, payload] of moves) {
      const next = (direction === "send" ? Monitor.send : Monitor.receive)(m, state, peer, label, payload)
      if (Monitor.isViolation(next)) throw next
      state = next
    }
    expect(Monitor.isEnd(m, state)).toBe(true)
  })
})

describe("conformance: refused protocols", () => {
  for (const { protocol: made, problem } of refused) {
    it(`refuses with ${problem.code}`, async () => {
      const protocol: Effect.Effect<Choreography.Protocol, Choreography.ProtocolDefinitionError> = made
      const exit = await Effect.runPromiseExit(protocol)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = await Effect.runPromise(Effect.flip(protocol))
      expect(error).toBeInstanceOf(Choreography.ProtocolDefinitionError)
      expect(error.problems).toContainEqual(expect.objectContaining(problem))
      for (const value of Object.values(problem).slice(1)) expect(error.message).toContain(value)
    })
  }
})
