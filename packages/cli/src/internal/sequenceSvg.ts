/** Laying out and drawing a sequence diagram as a self-contained SVG element (see `SequenceDiagram`). */
import { Result } from "effect"
import type { Block, Item, Message, SequenceDiagram } from "../SequenceDiagram.ts"
import { parse } from "./sequenceParse.ts"

const FONT = 13
const CHAR = 7.4 // a generous average advance of the sans-serif font at 13 px
const LINE = 17
const BOX_H = 38
const MARGIN = 16

const widthOf = (text: string) => Math.max(0, ...text.split("\n").map((l) => l.length * CHAR))

/** The longest line of a note, and of a message's label, before it wraps (so that lanes stay close). */
const NOTE_CHARS = 44
const LABEL_CHARS = 64

/** Breaks each line of a text at spaces (or anywhere, for a long word) into lines of at most `max` characters. */
export const wrap = (text: string, max: number): string =>
  text
    .split("\n")
    .flatMap((line) => {
      const out: Array<string> = []
      let rest = line
      while (rest.length > max) {
        const space = rest.lastIndexOf(" ", max)
        const cut = space > max / 3 ? space : max
        out.push(rest.slice(0, cut).trimEnd())
        rest = rest.slice(cut).trimStart()
      }
      out.push(rest)
      return out
    })
    .join("\n")

/** The items with their notes and labels wrapped. */
const wrapped = (items: ReadonlyArray<Item>): ReadonlyArray<Item> =>
  items.map((item) =>
    item._tag === "Note"
      ? { ...item, text: wrap(item.text, item.participants.length > 1 ? 2 * NOTE_CHARS : NOTE_CHARS) }
      : item._tag === "Message"
        ? { ...item, text: wrap(item.text, LABEL_CHARS) }
        : { ...item, sections: item.sections.map((s) => ({ ...s, items: wrapped(s.items) })) }
  )
const linesOf = (text: string) => text.split("\n").length

/** Text escaped for XML and HTML (`&`, `<`, `>`, quotes). */
export const escapeXml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

const textLines = (text: string, x: number, y: number, cls: string, anchor = "middle") =>
  text
    .split("\n")
    .map(
      (line, i) =>
        `<text x="${r(x)}" y="${r(y + i * LINE)}" class="${cls}" text-anchor="${anchor}">${escapeXml(line)}</text>`
    )
    .join("")

const r = (n: number) => Math.round(n * 10) / 10

const SECTION_KEYWORD: Readonly<Record<Block["kind"], string>> = {
  alt: "else",
  par: "and",
  critical: "option",
  loop: "",
  opt: "",
  break: "",
  rect: ""
}

const STYLE = `
  text { font-family: "trebuchet ms", verdana, arial, sans-serif; font-size: ${FONT}px; fill: #222; }
  .actor { fill: #ececff; stroke: #9370db; stroke-width: 1.2; }
  .actor-label { font-size: ${FONT + 1}px; }
  .lifeline { stroke: #999; stroke-width: 1; stroke-dasharray: 3 3; }
  .msg { stroke: #333; stroke-width: 1.4; fill: none; }
  .msg.dotted { stroke-dasharray: 4 3; }
  .head { fill: #333; stroke: #333; }
  .cross { stroke: #c0392b; stroke-width: 2; }
  .note { fill: #fff5ad; stroke: #aaaa33; }
  .frame { fill: none; stroke: #888; stroke-width: 1.2; }
  .tag { fill: #eee; stroke: #888; }
  .tag-label { font-weight: bold; font-size: ${FONT - 1}px; }
  .section { stroke: #888; stroke-dasharray: 4 3; }
  .condition { font-style: italic; fill: #444; }
`

/**
 * Draws a diagram (or Mermaid text, parsed first) as an SVG element: participants at the top and bottom
 * with their lifelines, arrows with their labels, notes, and framed blocks. It has its own styles and no
 * external references, so it can be saved as an `.svg` file or put inline in an HTML page.
 * Throws `ParseError` for Mermaid text that `parse` refuses.
 */
export const svg = (diagram: SequenceDiagram | string): string => {
  const parsed = typeof diagram === "string" ? Result.getOrThrow(parse(diagram)) : diagram
  const d = { ...parsed, items: wrapped(parsed.items) }
  const index = new Map(d.participants.map((p, i) => [p.id, i]))
  const n = d.participants.length
  const boxW = d.participants.map((p) => Math.max(90, widthOf(p.label) + 28))

  // Horizontal: each constraint asks for a least distance between two lifelines (lower index first).
  const need: Array<Map<number, number>> = d.participants.map(() => new Map())
  const ask = (i: number, j: number, distance: number) => {
    const [a, b] = i < j ? [i, j] : [j, i]
    if (a === b || a < 0 || b >= n) return
    need[b]!.set(a, Math.max(need[b]!.get(a) ?? 0, distance))
  }
  let rightExtra = 0
  const constrain = (items: ReadonlyArray<Item>) => {
    for (const item of items) {
      if (item._tag === "Block") for (const section of item.sections) constrain(section.items)
      else if (item._tag === "Message") {
        const [i, j] = [index.get(item.from)!, index.get(item.to)!]
        if (i === j) {
          if (i === n - 1) rightExtra = Math.max(rightExtra, widthOf(item.text) + 50)
          else ask(i, i + 1, widthOf(item.text) + 50)
        } else ask(i, j, widthOf(item.text) + 30)
      } else {
        const w = widthOf(item.text) + 20
        const [i, j] = item.participants.map((p) => index.get(p)!) as [number, number | undefined]
        if (item.placement === "over" && j !== undefined) ask(i, j, w - 40)
        else if (item.placement === "over") {
          if (i > 0) ask(i - 1, i, w / 2 + boxW[i - 1]! / 2 + 10)
          if (i < n - 1) ask(i, i + 1, w / 2 + boxW[i + 1]! / 2 + 10)
          else rightExtra = Math.max(rightExtra, w / 2 - boxW[i]! / 2)
        } else if (item.placement === "right of") {
          if (i === n - 1) rightExtra = Math.max(rightExtra, w + 10)
          else ask(i, i + 1, w + boxW[i + 1]! / 2 + 20)
        } else if (i > 0) ask(i - 1, i, w + boxW[i - 1]! / 2 + 20)
      }
    }
  }
  constrain(d.items)
  const leftExtra = Math.max(
    0,
    ...collect(d.items, (item) =>
      item._tag !== "Note" || index.get(item.participants[0]!) !== 0 || item.participants.length > 1
        ? 0
        : item.placement === "left of"
          ? widthOf(item.text) + 30 - boxW[0]! / 2
          : item.placement === "over"
            ? (widthOf(item.text) + 20 - boxW[0]!) / 2
            : 0
    )
  )
  const x: Array<number> = []
  for (let k = 0; k < n; k++) {
    let at = k === 0 ? MARGIN + leftExtra + 30 + boxW[0]! / 2 : x[k - 1]! + (boxW[k - 1]! + boxW[k]!) / 2 + 30
    for (const [i, distance] of need[k]!) at = Math.max(at, x[i]! + distance)
    x.push(at)
  }

  // Vertical: walk the items, drawing as we go.
  const body: Array<string> = []
  const frames: Array<string> = [] // drawn first, under the arrows
  let y = MARGIN + BOX_H + 24
  const span = (items: ReadonlyArray<Item>): [number, number] => {
    const all = collect(items, (item) =>
      item._tag === "Message"
        ? [index.get(item.from)!, index.get(item.to)!]
        : item._tag === "Note"
          ? item.participants.map((p) => index.get(p)!)
          : []
    ).flat()
    return all.length === 0 ? [0, n - 1] : [Math.min(...all), Math.max(...all)]
  }
  const draw = (items: ReadonlyArray<Item>, depth: number) => {
    for (const item of items) {
      switch (item._tag) {
        case "Message": {
          const [i, j] = [index.get(item.from)!, index.get(item.to)!]
          const [x1, x2] = [x[i]!, x[j]!]
          const lines = linesOf(item.text)
          const dotted = item.line === "dotted" ? " dotted" : ""
          if (i === j) {
            body.push(textLines(item.text, x1 + 12, y + FONT, "label", "start"))
            const top = y + lines * LINE + 2
            body.push(`<path d="M${r(x1)} ${r(top)} h36 v20 h-34" class="msg${dotted}"/>`)
            body.push(head(item.head, x1, top + 20, -1))
            y = top + 34
          } else {
            body.push(textLines(item.text, (x1 + x2) / 2, y + FONT, "label"))
            const at = y + lines * LINE + 4
            const dir = x2 > x1 ? 1 : -1
            body.push(`<line x1="${r(x1)}" y1="${r(at)}" x2="${r(x2 - dir * 2)}" y2="${r(at)}" class="msg${dotted}"/>`)
            body.push(head(item.head, x2, at, dir))
            y = at + 18
          }
          break
        }
        case "Note": {
          const w = widthOf(item.text) + 20
          const h = linesOf(item.text) * LINE + 10
          const xs = item.participants.map((p) => x[index.get(p)!]!)
          const [left, right] =
            item.placement === "left of"
              ? [xs[0]! - 12 - w, xs[0]! - 12]
              : item.placement === "right of"
                ? [xs[0]! + 12, xs[0]! + 12 + w]
                : xs.length === 2
                  ? [Math.min(...xs) - 30, Math.max(...xs) + 30]
                  : [xs[0]! - w / 2, xs[0]! + w / 2]
          const width = Math.max(right - left, w)
          body.push(`<rect x="${r(left)}" y="${r(y)}" width="${r(width)}" height="${r(h)}" class="note"/>`)
          body.push(textLines(item.text, left + width / 2, y + FONT + 4, "label"))
          y += h + 12
          break
        }
        case "Block": {
          const [a, b] = span(item.sections.flatMap((s) => s.items))
          const pad = Math.max(10, 40 - depth * 10)
          const left = Math.min(x[a]! - boxW[a]! / 2, x[a]! - pad - 20)
          const right = Math.max(x[b]! + boxW[b]! / 2, x[b]! + pad + 20) + (b === n - 1 ? rightExtra : 0)
          const top = y
          const boundaries: Array<number> = []
          if (item.kind === "rect") y += 8
          item.sections.forEach((section, k) => {
            if (k > 0) boundaries.push(y)
            if (item.kind !== "rect") {
              const label = section.label
              if (label !== "") {
                const lx = k === 0 ? left + widthOf(item.kind) + 22 : left + 8
                const text = k === 0 ? `[${label}]` : `${SECTION_KEYWORD[item.kind]} [${label}]`
                body.push(textLines(text, lx, y + FONT + 4, "condition", "start"))
              } else if (k > 0) {
                body.push(textLines(SECTION_KEYWORD[item.kind], left + 8, y + FONT + 4, "condition", "start"))
              }
              y += 28
            }
            draw(section.items, depth + 1)
          })
          y += 6
          const [w, h] = [right - left, y - top]
          if (item.kind === "rect") {
            frames.push(
              `<rect x="${r(left)}" y="${r(top)}" width="${r(w)}" height="${r(h)}" fill="${escapeXml(item.color ?? "rgba(128, 128, 128, 0.1)")}"/>`
            )
          } else {
            frames.push(`<rect x="${r(left)}" y="${r(top)}" width="${r(w)}" height="${r(h)}" class="frame"/>`)
            const tw = widthOf(item.kind) + 14
            frames.push(
              `<path d="M${r(left)} ${r(top)} h${r(tw)} v14 l-6 6 h${r(-tw + 6)} z" class="tag"/>`,
              textLines(item.kind, left + 7, top + 14, "tag-label", "start")
            )
            for (const at of boundaries) {
              frames.push(`<line x1="${r(left)}" y1="${r(at)}" x2="${r(right)}" y2="${r(at)}" class="section"/>`)
            }
          }
          y += 10
          break
        }
      }
    }
  }
  draw(d.items, 0)

  const bottom = y + 8
  const width = (n === 0 ? 2 * MARGIN : x[n - 1]! + boxW[n - 1]! / 2 + MARGIN) + rightExtra
  const height = bottom + BOX_H + MARGIN
  const actors = d.participants.flatMap((p, i) => {
    const [cx, w] = [x[i]!, boxW[i]!]
    const box = (top: number) =>
      `<rect x="${r(cx - w / 2)}" y="${r(top)}" width="${r(w)}" height="${BOX_H}" rx="3" class="actor"/>` +
      textLines(p.label, cx, top + BOX_H / 2 + 5, "actor-label")
    return [
      `<line x1="${r(cx)}" y1="${MARGIN + BOX_H}" x2="${r(cx)}" y2="${r(bottom)}" class="lifeline"/>`,
      box(MARGIN),
      box(bottom)
    ]
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${Math.ceil(height)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" role="img">`,
    `<style>${STYLE}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...frames,
    ...actors,
    ...body,
    "</svg>"
  ].join("\n")
}

/** Every value `f` gives for the items, nested ones included. */
const collect = <A>(items: ReadonlyArray<Item>, f: (item: Item) => A): Array<A> =>
  items.flatMap((item) => [
    f(item),
    ...(item._tag === "Block" ? item.sections.flatMap((s) => collect(s.items, f)) : [])
  ])

/** The end of an arrow at `x`, `y`, pointing right (`dir` 1) or left (-1). */
const head = (kind: Message["head"], x: number, y: number, dir: number): string => {
  switch (kind) {
    case "arrow":
      return `<path d="M${r(x)} ${r(y)} l${-dir * 10} -5 v10 z" class="head"/>`
    case "open":
      return `<path d="M${r(x - dir * 10)} ${r(y - 5)} L${r(x)} ${r(y)} L${r(x - dir * 10)} ${r(y + 5)}" class="msg"/>`
    case "cross":
      return `<path d="M${r(x - dir * 12)} ${r(y - 6)} l12 12 M${r(x - dir * 12)} ${r(y + 6)} l12 -12" class="cross"/>`
    case "none":
      return ""
  }
}
