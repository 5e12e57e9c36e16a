/** Reading Mermaid `sequenceDiagram` text (see `SequenceDiagram`). */
import { Result, Schema } from "effect"
import type { Block, Item, Note, Participant, SequenceDiagram } from "../SequenceDiagram.ts"

/** The Mermaid text could not be read: `line` (1-based) and `text` say where and what. */
export class ParseError extends Schema.TaggedError<ParseError>()("SequenceDiagramParseError", {
  line: Schema.Number,
  text: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Sequence diagram, line ${this.line}: ${this.reason}: ${JSON.stringify(this.text)}`
  }
}

const decodeText = (s: string): string =>
  s
    .trim()
    .replace(/#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/<br\s*\/?>/gi, "\n")

const ARROW = /^([^\s\-+>][^>]*?)\s*(-->>|->>|--x|-x|--\)|-\)|-->|->)\s*[+-]?\s*([^:]+?)\s*:(.*)$/
const NOTE = /^note\s+(over|left of|right of)\s+([^:]+?)\s*:(.*)$/i
const OPENERS = ["alt", "loop", "par", "opt", "critical", "break", "rect"] as const
const SECTIONS: Readonly<Record<string, ReadonlyArray<string>>> = { alt: ["else"], par: ["and"], critical: ["option"] }

/** Reads Mermaid `sequenceDiagram` text. */
export const parse = (text: string): Result.Result<SequenceDiagram, ParseError> => {
  // Declared participants come first, then the others in order of appearance.
  const declared: Array<Participant> = []
  const appearing: Array<Participant> = []
  const seen = new Set<string>()
  const use = (id: string, label = id, declare = false) => {
    if (seen.has(id)) return
    seen.add(id)
    ;(declare ? declared : appearing).push({ id, label })
  }
  const root: Array<Item> = []
  const stack: Array<{
    kind: Block["kind"]
    color: string | undefined
    sections: Array<{ label: string; items: Array<Item> }>
  }> = []
  const current = () => (stack.length === 0 ? root : stack.at(-1)!.sections.at(-1)!.items)
  const lines = text.split(/\r?\n/)
  let header = false
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!
    const line = raw.trim()
    const fail = (reason: string) => Result.fail(new ParseError({ line: i + 1, text: raw, reason }))
    if (line === "" || line.startsWith("%%")) continue
    if (!header) {
      if (line !== "sequenceDiagram") return fail("expected `sequenceDiagram` first")
      header = true
      continue
    }
    const [word = "", ...rest] = line.split(/\s+/)
    const keyword = word.toLowerCase()
    const tail = rest.join(" ")
    if (keyword === "participant" || keyword === "actor") {
      const alias = /^(.+?)\s+as\s+(.+)$/.exec(tail)
      if (tail === "") return fail("a participant needs a name")
      if (alias) use(alias[1]!, decodeText(alias[2]!), true)
      else use(tail, decodeText(tail), true)
      continue
    }
    if (["autonumber", "activate", "deactivate", "title"].includes(keyword)) continue
    if ((OPENERS as ReadonlyArray<string>).includes(keyword)) {
      const kind = keyword as Block["kind"]
      stack.push({
        kind,
        color: kind === "rect" ? tail : undefined,
        sections: [{ label: kind === "rect" ? "" : decodeText(tail), items: [] }]
      })
      continue
    }
    if (keyword === "end") {
      const block = stack.pop()
      if (block === undefined) return fail("`end` without a block to close")
      current().push({ _tag: "Block", kind: block.kind, color: block.color, sections: block.sections })
      continue
    }
    const open = stack.at(-1)
    if (open !== undefined && SECTIONS[open.kind]?.includes(keyword)) {
      open.sections.push({ label: decodeText(tail), items: [] })
      continue
    }
    const note = NOTE.exec(line)
    if (note) {
      const participants = note[2]!.split(",").map((p) => p.trim())
      if (participants.length > 2 || participants.some((p) => p === "")) return fail("a note is over one or two")
      for (const p of participants) use(p)
      current().push({
        _tag: "Note",
        placement: note[1]!.toLowerCase() as Note["placement"],
        participants,
        text: decodeText(note[3]!)
      })
      continue
    }
    const arrow = ARROW.exec(line)
    if (arrow) {
      const [, from, kind, to, label] = arrow as unknown as [string, string, string, string, string]
      use(from.trim())
      use(to.trim())
      current().push({
        _tag: "Message",
        from: from.trim(),
        to: to.trim(),
        text: decodeText(label),
        line: kind.startsWith("--") ? "dotted" : "solid",
        head: kind.endsWith(">>") ? "arrow" : kind.endsWith("x") ? "cross" : kind.endsWith(")") ? "open" : "none"
      })
      continue
    }
    return fail("not a participant, message, note or block")
  }
  if (!header) return Result.fail(new ParseError({ line: 1, text: "", reason: "empty diagram" }))
  if (stack.length > 0) {
    return Result.fail(
      new ParseError({ line: lines.length, text: lines.at(-1) ?? "", reason: `${stack.length} block(s) not closed` })
    )
  }
  return Result.succeed({
    participants: [...declared, ...appearing],
    items: root
  })
}
