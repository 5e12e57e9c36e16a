/**
 * Sequence diagrams drawn without a browser library: Mermaid `sequenceDiagram` text (the subset that
 * `Diagram.protocol` and `Diagram.trace` write, and a bit more) parsed, laid out and drawn as a
 * self-contained SVG, and HTML pages that show such diagrams with no script and no network access.
 *
 * Understood: `participant`/`actor` (with `as` aliases), messages with the arrows `->>`, `-->>`, `-x`,
 * `--x`, `->`, `-->`, `-)` and `--)` (activation marks `+`/`-` are ignored), `Note over|left of|right of`,
 * the blocks `alt`/`else`, `opt`, `loop`, `par`/`and`, `critical`/`option`, `break` and `rect <color>`
 * closed by `end`, `<br>` line breaks, `#NN;` entities, and `%%` comments. `autonumber`,
 * `activate`/`deactivate` and `title` lines are accepted and ignored.
 *
 * @example
 * ```ts
 * import { Diagram } from "@troupe/runtime"
 * import { SequenceDiagram } from "@troupe/cli"
 *
 * const svg = SequenceDiagram.svg(Diagram.protocol(TwoBuyer))       // an <svg> element, as text
 * const page = SequenceDiagram.html({
 *   title: "Two-Buyer",
 *   diagrams: [{ title: "The protocol", mermaid: Diagram.protocol(TwoBuyer) }],
 *   facts: [["messages", "7"], ["violations caught", "1"]]
 * })
 * fs.writeFileSync("two-buyer.html", page)                           // opens offline in any browser
 * ```
 */
import { escapeXml, svg } from "./internal/sequenceSvg.ts"

export { ParseError, parse } from "./internal/sequenceParse.ts"
export { svg, wrap } from "./internal/sequenceSvg.ts"

/** A participant: its id in the Mermaid text and the label drawn in its box. */
export interface Participant {
  readonly id: string
  readonly label: string
}

/** An arrow from one participant to another (or to itself). */
export interface Message {
  readonly _tag: "Message"
  readonly from: string
  readonly to: string
  readonly text: string
  /** Solid (`->>`) or dotted (`-->>`). */
  readonly line: "solid" | "dotted"
  /** An arrowhead (`->>`), a cross (`-x`: lost), an open arrow (`-)`: async) or none (`->`). */
  readonly head: "arrow" | "cross" | "open" | "none"
}

/** A note over one or two participants, or to the left or right of one. */
export interface Note {
  readonly _tag: "Note"
  readonly placement: "over" | "left of" | "right of"
  readonly participants: ReadonlyArray<string>
  readonly text: string
}

/** One section of a block: the `alt` part, each `else`, each `and` of a `par`, ... */
export interface Section {
  readonly label: string
  readonly items: ReadonlyArray<Item>
}

/** A framed block: `alt`/`else`, `loop`, `par`/`and`, `opt`, `critical`/`option`, `break`, or a coloured `rect`. */
export interface Block {
  readonly _tag: "Block"
  readonly kind: "alt" | "loop" | "par" | "opt" | "critical" | "break" | "rect"
  /** The background colour of a `rect`. */
  readonly color: string | undefined
  readonly sections: ReadonlyArray<Section>
}

/** One element of a diagram, in order from top to bottom. */
export type Item = Message | Note | Block

/** A parsed sequence diagram. */
export interface SequenceDiagram {
  /** In drawing order: declared ones first, then the others in order of appearance. */
  readonly participants: ReadonlyArray<Participant>
  readonly items: ReadonlyArray<Item>
}

/** One diagram of a page: a heading and the Mermaid text to draw. */
export interface PageDiagram {
  readonly title?: string | undefined
  readonly mermaid: string
}

/** What {@link html} puts on a page, in this order. */
export interface Page {
  /** The page's title and first heading. */
  readonly title: string
  /** Paragraphs of plain text under the title. */
  readonly notes?: ReadonlyArray<string> | undefined
  /** A two-column table of facts (e.g. `["messages", "12"]`), under the notes. */
  readonly facts?: ReadonlyArray<readonly [label: string, value: string]> | undefined
  /** The diagrams, each drawn as inline SVG with its Mermaid source in a collapsed section below. */
  readonly diagrams: ReadonlyArray<PageDiagram>
}

/**
 * A self-contained HTML page: no script, no stylesheet or font to fetch; it renders offline in any browser.
 * Throws {@link ParseError} for Mermaid text that {@link parse} refuses.
 */
export const html = (page: Page): string =>
  [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(page.title)}</title>`,
    "<style>",
    "  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; background: #fafafa; }",
    "  figure { margin: 1rem 0 2rem; overflow-x: auto; }",
    // lanes fit the page (down to a readable size, then the figure scrolls)
    "  svg { border: 1px solid #ddd; border-radius: 4px; max-width: 100%; height: auto; min-width: min(720px, 100%); }",
    "  table { border-collapse: collapse; margin: 1rem 0; }",
    "  td { padding: 0.2rem 1rem 0.2rem 0; } td:first-child { color: #555; }",
    "  details pre { background: #f0f0f0; padding: 0.8rem; overflow-x: auto; }",
    "</style>",
    "</head>",
    "<body>",
    `<h1>${escapeXml(page.title)}</h1>`,
    ...(page.notes ?? []).map((note) => `<p>${escapeXml(note)}</p>`),
    ...(page.facts === undefined || page.facts.length === 0
      ? []
      : [
          "<table>",
          ...page.facts.map(([label, value]) => `<tr><td>${escapeXml(label)}</td><td>${escapeXml(value)}</td></tr>`),
          "</table>"
        ]),
    ...page.diagrams.flatMap((diagram) => [
      ...(diagram.title === undefined ? [] : [`<h2>${escapeXml(diagram.title)}</h2>`]),
      "<figure>",
      svg(diagram.mermaid),
      "</figure>",
      `<details><summary>Mermaid source</summary><pre>${escapeXml(diagram.mermaid)}</pre></details>`
    ]),
    "</body>",
    "</html>",
    ""
  ].join("\n")
