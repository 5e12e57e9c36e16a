import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography, Diagram } from "../src/index.ts"
import { Travel, TwoBuyer } from "./fixtures.ts"

describe("Diagram.protocol", () => {
  it("draws Two-Buyer with B's choice as an alt block", () => {
    expect(Diagram.protocol(TwoBuyer)).toBe(
      [
        "sequenceDiagram",
        "  participant A",
        "  participant B",
        "  participant S",
        "  A->>S: title(string)",
        "  S->>A: quote(number)",
        "  S->>B: quote(number)",
        "  A->>B: split(number)",
        "  alt B chooses accept",
        "    B->>A: accept()",
        "    A->>S: buy(string)",
        "  else B chooses reject",
        "    B->>A: reject()",
        "    A->>S: cancel()",
        "  end"
      ].join("\n")
    )
  })

  it("draws loops, continue, nested choices", () => {
    expect(Diagram.protocol(Travel)).toBe(
      [
        "sequenceDiagram",
        "  participant Customer",
        "  participant Agency",
        "  participant Service",
        "  loop Search",
        "    Customer->>Agency: suggest(string)",
        "    Agency->>Service: query(string)",
        "    alt Service chooses available",
        "      Service->>Agency: available(number)",
        "      Agency->>Customer: quote(number)",
        "      alt Customer chooses accept",
        "        Customer->>Agency: accept({ name: string, card: string })",
        "        Agency->>Service: confirm({ name: string, card: string })",
        "      else Customer chooses decline",
        "        Customer->>Agency: decline()",
        "        Agency->>Service: reject()",
        "      end",
        "    else Service chooses full",
        "      Service->>Agency: full()",
        "      Agency->>Customer: full()",
        "      Note over Customer,Service: continue Search",
        "    end",
        "  end"
      ].join("\n")
    )
  })

  it("draws parallel parts, included protocols and end; escapes names and text", () => {
    const Hello = Choreography.makeUnsafe("Hello", ["X", "Y"], ($) => [$.message("X", "Y", "hi", Schema.Void)])
    const P = Choreography.makeUnsafe("Misc", ["Lead Agent", "A", "B", "C"], ($) => [
      $.include(Hello, { X: "Lead Agent", Y: "A" }),
      $.parallel(
        [$.message("A", "B", "x", Schema.Literals(["a;b", "#1"]))],
        [$.message("Lead Agent", "C", "y", Schema.Number)]
      ),
      $.message("B", "A", "z", Schema.Void),
      $.end
    ])
    expect(Diagram.protocol(P)).toBe(
      [
        "sequenceDiagram",
        "  participant r1 as Lead Agent",
        "  participant A",
        "  participant B",
        "  participant C",
        "  rect rgba(128, 128, 128, 0.1)",
        "    Note over r1,C: Hello",
        "    r1->>A: hi()",
        "  end",
        "  par",
        '    A->>B: x("a#59;b" | "#35;1")',
        "  and",
        "    r1->>C: y(number)",
        "  end",
        "  B->>A: z()",
        "  Note over r1,C: end"
      ].join("\n")
    )
  })
})

describe("Diagram.trace", () => {
  it("draws delivered, undelivered and unchecked messages, violations and aborts", () => {
    const events: ReadonlyArray<Diagram.TraceEvent> = [
      { _tag: "Sent", from: "A", to: "S", label: "title", payload: '"Dune"' },
      { _tag: "Received", from: "A", to: "S", label: "title" },
      { _tag: "Sent", from: "S", to: "A", label: "quote", payload: "30" },
      { _tag: "Received", from: "A", to: "S", label: "refund", payload: "10" },
      { _tag: "Violation", role: "S", expected: ["A!quote(number)"], got: "A?refund" },
      { _tag: "Aborted", role: "S", reason: "protocol violation" }
    ]
    expect(Diagram.trace(events)).toBe(
      [
        "sequenceDiagram",
        "  participant A",
        "  participant S",
        '  A->>S: title("Dune")',
        "  S-xA: quote(30)",
        "  A-->>S: refund(10)",
        "  Note over S: violation: expected A!quote(number), got A?refund",
        "  Note over A,S: aborted by S: protocol violation"
      ].join("\n")
    )
  })

  it("decodes recorded traces with the TraceEvent schema", () => {
    const decode = Schema.decodeUnknownSync(Schema.Array(Diagram.TraceEvent))
    const events = decode([
      { _tag: "Sent", from: "A", to: "B", label: "ping" },
      { _tag: "Aborted", reason: "timeout" }
    ])
    expect(Diagram.trace(events, { roles: ["B", "A"] })).toBe(
      [
        "sequenceDiagram",
        "  participant B",
        "  participant A",
        "  A-xB: ping()",
        "  Note over B,A: aborted: timeout"
      ].join("\n")
    )
    expect(() => decode([{ _tag: "Sent", from: "A" }])).toThrow()
  })
})
