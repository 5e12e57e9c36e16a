import { Choreography, Diagram } from "@troupe/runtime"
import { Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as SequenceDiagram from "../src/SequenceDiagram.ts"

const TwoBuyer = Choreography.makeUnsafe("TwoBuyer", ["A", "B", "S"], ($) => [
  $.message("A", "S", "title", Schema.String),
  $.message("S", "A", "quote", Schema.Number),
  $.choice("B", {
    accept: [$.message("B", "A", "accept", Schema.Void), $.message("A", "S", "buy", Schema.String)],
    reject: [$.message("B", "A", "reject", Schema.Void), $.message("A", "S", "cancel", Schema.Void)]
  })
])

const parsed = (text: string) => Result.getOrThrow(SequenceDiagram.parse(text))

describe("SequenceDiagram.parse", () => {
  it("reads what Diagram.protocol writes: participants, messages, choices as alt blocks", () => {
    const diagram = parsed(Diagram.protocol(TwoBuyer))
    expect(diagram.participants).toEqual([
      { id: "A", label: "A" },
      { id: "B", label: "B" },
      { id: "S", label: "S" }
    ])
    expect(diagram.items.slice(0, 2)).toEqual([
      { _tag: "Message", from: "A", to: "S", text: "title(string)", line: "solid", head: "arrow" },
      { _tag: "Message", from: "S", to: "A", text: "quote(number)", line: "solid", head: "arrow" }
    ])
    const choice = diagram.items[2]
    expect(choice?._tag).toBe("Block")
    if (choice?._tag !== "Block") return
    expect(choice.kind).toBe("alt")
    expect(choice.sections.map((s) => [s.label, s.items.length])).toEqual([
      ["B chooses accept", 2],
      ["B chooses reject", 2]
    ])
  })

  it("reads what Diagram.trace writes: lost and unsent messages, notes, entities", () => {
    const diagram = parsed(
      Diagram.trace([
        { _tag: "Sent", from: "A", to: "S", label: "title", payload: '"a;b"' },
        { _tag: "Received", from: "C", to: "A", label: "odd" },
        { _tag: "Violation", role: "B", expected: ["A?split(number)"], got: "S!buy" }
      ])
    )
    expect(diagram.participants.map((p) => p.id)).toEqual(["A", "S", "C", "B"])
    expect(diagram.items).toEqual([
      { _tag: "Message", from: "A", to: "S", text: 'title("a;b")', line: "solid", head: "cross" },
      { _tag: "Message", from: "C", to: "A", text: "odd()", line: "dotted", head: "arrow" },
      {
        _tag: "Note",
        placement: "over",
        participants: ["B"],
        text: "violation: expected A?split(number), got S!buy"
      }
    ])
  })

  it("takes aliases, undeclared participants in order of appearance, and <br> line breaks", () => {
    const diagram = parsed(
      ["sequenceDiagram", "  participant p as Planner", "  %% a comment", "  c->>p: ask<br>twice", "  p-->>c: ok"].join(
        "\n"
      )
    )
    expect(diagram.participants).toEqual([
      { id: "p", label: "Planner" },
      { id: "c", label: "c" }
    ])
    expect(diagram.items[0]).toMatchObject({ text: "ask\ntwice" })
  })

  it("refuses what it cannot read, naming the line", () => {
    const refused = (text: string) => Result.getFailure(SequenceDiagram.parse(text))
    expect(refused("graph TD")).toMatchObject({ _tag: "Some", value: { line: 1 } })
    expect(refused("sequenceDiagram\n  A->>B: x\n  what is this")).toMatchObject({
      _tag: "Some",
      value: { line: 3, text: "  what is this", reason: "not a participant, message, note or block" }
    })
    expect(refused("sequenceDiagram\n  loop L\n  A->>B: x")).toMatchObject({
      _tag: "Some",
      value: { reason: "1 block(s) not closed" }
    })
    expect(refused("sequenceDiagram\n  end")).toMatchObject({ _tag: "Some", value: { line: 2 } })
  })
})

describe("SequenceDiagram.svg", () => {
  it("draws every participant (top and bottom), message label and block", () => {
    const svg = SequenceDiagram.svg(Diagram.protocol(TwoBuyer))
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/)
    for (const role of ["A", "B", "S"]) expect(svg.split(`>${role}</text>`)).toHaveLength(3)
    for (const label of ["title(string)", "quote(number)", "accept()", "cancel()"]) expect(svg).toContain(`>${label}<`)
    expect(svg).toContain(">alt</text>")
    expect(svg).toContain(">[B chooses accept]</text>")
    expect(svg).toContain(">else [B chooses reject]</text>")
  })

  it("spreads participants so that long labels fit between them", () => {
    const width = (label: string) =>
      Number(/width="(\d+)"/.exec(SequenceDiagram.svg(`sequenceDiagram\n  A->>B: ${label}`))![1])
    expect(width("x".repeat(60))).toBeGreaterThan(width("x") + 300)
  })

  it("wraps long notes and labels, so that four lanes with long notes fit a page", () => {
    const note = "the model's move was refused before it left (you can only send to Tester now, not to Reviewer)"
    const svg = SequenceDiagram.svg(
      `sequenceDiagram\n  participant P\n  participant C\n  participant T\n  participant R\n  P->>C: task\n  Note over C: ${note}\n  C->>T: ${"y ".repeat(50)}\n  R->>P: done`
    )
    expect(Number(/width="(\d+)"/.exec(svg)![1])).toBeLessThan(1000)
    expect(svg).toContain(">the model&#39;s move was refused before it left<")
    expect(svg).toContain(">(you can only send to Tester now, not to<")
    expect(SequenceDiagram.wrap("aaa bbb ccc", 7)).toBe("aaa bbb\nccc")
    expect(SequenceDiagram.wrap("x".repeat(10), 4)).toBe("xxxx\nxxxx\nxx")
  })

  it("escapes text", () => {
    const svg = SequenceDiagram.svg('sequenceDiagram\n  A->>B: <b>&"')
    expect(svg).toContain("&lt;b&gt;&amp;&quot;")
    expect(svg).not.toContain("<b>")
  })

  it("throws the ParseError for text it cannot read", () => {
    expect(() => SequenceDiagram.svg("nonsense")).toThrow(/line 1/)
  })
})

describe("SequenceDiagram.html", () => {
  it("is a page with the title, notes, facts, each diagram as SVG and its source, and nothing to fetch", () => {
    const page = SequenceDiagram.html({
      title: "Session <1>",
      notes: ["It went well & fast."],
      facts: [["messages", "7"]],
      diagrams: [{ title: "Two-Buyer", mermaid: Diagram.protocol(TwoBuyer) }]
    })
    expect(page).toMatch(/^<!doctype html>/)
    expect(page).toContain("<title>Session &lt;1&gt;</title>")
    expect(page).toContain("<p>It went well &amp; fast.</p>")
    expect(page).toContain("<tr><td>messages</td><td>7</td></tr>")
    expect(page).toContain("<h2>Two-Buyer</h2>")
    expect(page).toContain("<svg")
    expect(page).toContain("A-&gt;&gt;S: title(string)") // the Mermaid source, escaped
    expect(page).not.toMatch(/<script|<link|\bsrc=|\bhref=|url\(/)
  })
})
