import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography, Monitor, StateMachine } from "../src/index.ts"
import { Travel, TwoBuyer } from "./fixtures.ts"

const seller = Monitor.make(TwoBuyer, "S", "session-1")

/** Steps the seller to the state where it waits for A's decision. */
const atDecision = (): number => {
  let state = seller.start
  for (const next of [
    (s: number) => Monitor.receive(seller, s, "A", "title", "War and Peace"),
    (s: number) => Monitor.send(seller, s, "A", "quote", 42),
    (s: number) => Monitor.send(seller, s, "B", "quote", 42)
  ]) {
    const answer = next(state)
    if (Monitor.isViolation(answer)) throw answer
    state = answer
  }
  return state
}

const violation = (answer: number | string | Monitor.ProtocolViolation): Monitor.ProtocolViolation => {
  if (!(answer instanceof Monitor.ProtocolViolation)) throw new Error(`expected a violation, got ${answer}`)
  return answer
}

describe("Monitor", () => {
  it("steps through the seller's state machine to the end", () => {
    const state = atDecision()
    expect(state).toBe(3)
    expect(Monitor.expected(seller, state)).toEqual(["A?buy(string)", "A?cancel()"])
    const done = Monitor.receive(seller, state, "A", "cancel", undefined)
    expect(done).toBe(4)
    expect(Monitor.isEnd(seller, 4)).toBe(true)
    expect(Monitor.close(seller, 4)).toBe(4)
  })

  it("refuses a wrong label", () => {
    const v = violation(Monitor.receive(seller, atDecision(), "A", "refund", 10))
    expect(v).toMatchObject({
      _tag: "ProtocolViolation",
      protocol: "TwoBuyer",
      session: "session-1",
      role: "S",
      state: 3,
      expected: ["A?buy(string)", "A?cancel()"],
      got: "A?refund",
      reason: "label"
    })
    expect(v.message).toBe(
      "Protocol violation in session session-1 of TwoBuyer: role S in state 3 expected A?buy(string) or A?cancel() but got A?refund"
    )
  })

  it("refuses the right label to the wrong peer", () => {
    const afterTitle = Monitor.receive(seller, seller.start, "A", "title", "Dune") as number
    const v = violation(Monitor.send(seller, afterTitle, "B", "quote", 42))
    expect(v).toMatchObject({ state: 1, expected: ["A!quote(number)"], got: "B!quote", reason: "peer" })
  })

  it("refuses a send where the role must receive", () => {
    const v = violation(Monitor.send(seller, seller.start, "A", "title", "Dune"))
    expect(v).toMatchObject({ state: 0, expected: ["A?title(string)"], got: "A!title", reason: "direction" })
  })

  it("refuses a payload its schema rejects, saying why", () => {
    const afterTitle = Monitor.receive(seller, seller.start, "A", "title", "Dune") as number
    const v = violation(Monitor.send(seller, afterTitle, "A", "quote", "forty-two"))
    expect(v).toMatchObject({ reason: "payload", got: "A!quote", detail: "Expected number" })
  })

  it("checks structured payloads at the receiver", () => {
    const agency = Monitor.make(Travel, "Agency", "s-2")
    let state = agency.start
    for (const [kind, peer, label, payload] of [
      ["receive", "Customer", "suggest", "Rome"],
      ["send", "Service", "query", "Rome"],
      ["receive", "Service", "available", 99],
      ["send", "Customer", "quote", 99]
    ] as const) {
      state = (kind === "send" ? Monitor.send : Monitor.receive)(agency, state, peer, label, payload) as number
    }
    const v = violation(Monitor.receive(agency, state, "Customer", "accept", { name: "Ada" }))
    expect(v.reason).toBe("payload")
    expect(v.detail).toContain('["card"]')
    expect(Monitor.receive(agency, state, "Customer", "accept", { name: "Ada", card: "4242" })).toBeTypeOf("number")
  })

  it("refuses any move after the end, and leaving before it", () => {
    const end = Monitor.receive(seller, atDecision(), "A", "buy", "Dune") as number
    expect(violation(Monitor.send(seller, end, "A", "quote", 1))).toMatchObject({ reason: "ended", expected: [] })
    expect(violation(Monitor.receive(seller, end, "A", "buy", "Dune")).message).toContain(
      "expected nothing (the role is done) but got A?buy"
    )
    expect(violation(Monitor.close(seller, 2))).toMatchObject({ reason: "unfinished", got: "close", state: 2 })
  })

  it("refuses a state the machine does not have (a corrupt checkpoint)", () => {
    expect(violation(Monitor.send(seller, 99, "A", "quote", 1))).toMatchObject({ reason: "state", state: 99 })
    expect(violation(Monitor.receivesFrom(seller, 99))).toMatchObject({ reason: "state" })
  })

  it("tells whom the role receives from next", () => {
    expect(Monitor.receivesFrom(seller, 0)).toBe("A")
    expect(violation(Monitor.receivesFrom(seller, 1))).toMatchObject({ reason: "direction", got: "receive" })
  })

  it("keeps going around loops", () => {
    const service = Monitor.fromMachine(StateMachine.of(Travel, "Service"), "s-3")
    let state = service.start
    for (let round = 0; round < 3; round++) {
      state = Monitor.receive(service, state, "Agency", "query", `city ${round}`) as number
      state = Monitor.send(service, state, "Agency", "full", undefined) as number
    }
    expect(state).toBe(service.start)
  })

  it("checks primitive, refined and literal payloads as their schemas do", () => {
    const P = Choreography.makeUnsafe("Kinds", ["A", "B"], ($) => [
      $.message("A", "B", "flag", Schema.Boolean),
      $.message("A", "B", "count", Schema.Int),
      $.message("A", "B", "mode", Schema.Literals(["fast", "slow"])),
      $.message("A", "B", "nothing", Schema.Undefined)
    ])
    const m = Monitor.make(P, "A", "s-4")
    const cases: ReadonlyArray<readonly [number, string, unknown, boolean]> = [
      [0, "flag", true, true],
      [0, "flag", "true", false],
      [1, "count", 3, true],
      [1, "count", 1.5, false],
      [2, "mode", "fast", true],
      [2, "mode", "medium", false],
      [3, "nothing", undefined, true],
      [3, "nothing", null, false]
    ]
    for (const [state, label, payload, ok] of cases)
      expect([label, payload, Monitor.isViolation(Monitor.send(m, state, "B", label, payload))]).toEqual([
        label,
        payload,
        !ok
      ])
  })
})
