/**
 * `pnpm bench`: runs every benchmark in one process, one after another, and writes bench/results.json
 * (figure name → number) and BENCHMARKS.md (figures, goals, date and machine). Ratios are measured side by
 * side in the same run, because the machines are shared and noisy.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg, totalmem } from "node:os"
import { join } from "node:path"
import * as agreement from "./agreement.ts"
import * as backends from "./backends.ts"
import * as checker from "./checker.ts"
import * as choreography from "./choreography.ts"
import * as cluster from "./cluster.ts"
import * as durable from "./durable.ts"
import { how, notes, why } from "./notes.ts"
import * as peers from "./peers.ts"
import * as remote from "./remote.ts"
import * as runtime from "./runtime.ts"
import * as scale from "./scale.ts"
import * as sessions from "./sessions.ts"
import { type Case, type Figure, meets } from "./support.ts"

const suites: ReadonlyArray<readonly [string, ReadonlyArray<Case>]> = [
  ["runtime", runtime.cases],
  ["scale", scale.cases],
  ["peers", peers.cases],
  ["choreography", [{ name: "monitor", run: () => choreography.figures() }, ...checker.cases, ...sessions.cases]],
  ["remote", [{ name: "remote", run: () => remote.figures() }]],
  ["durable", durable.cases],
  ["cluster", cluster.cases],
  ["backends", backends.cases],
  ["agreement", agreement.cases]
]

// `pnpm bench -- fanout callers`: only the cases whose name (or suite's name) contains one of the words
const only = process.argv.slice(2).filter((word) => word !== "--")
const loadBefore = loadavg()[0]!
const selected = (suite: string, name: string) =>
  only.length === 0 || only.some((word) => suite.includes(word) || name.includes(word))
const figures: Array<Figure> = []
for (const [suite, cases] of suites) {
  for (const { name, run } of cases) {
    if (!selected(suite, name)) continue
    console.log(`bench: ${suite} ${name}…`)
    for (const figure of await run()) {
      figures.push(figure)
      console.log(`  ${figure.name} = ${format(figure.value)}${figure.unit === undefined ? "" : ` ${figure.unit}`}`)
    }
  }
}

function format(value: number): string {
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(2)
}

const root = join(import.meta.dirname, "..")
const measured = new Set(figures.map((f) => f.name))
// `pnpm bench <suite>…` measures only those suites: the other figures (and their table rows) are kept as they were
const previous: Record<string, number> =
  only.length > 0 && existsSync(join(root, "bench", "results.json"))
    ? (JSON.parse(readFileSync(join(root, "bench", "results.json"), "utf8")) as Record<string, number>)
    : {}
const previousLines =
  only.length > 0 && existsSync(join(root, "BENCHMARKS.md"))
    ? readFileSync(join(root, "BENCHMARKS.md"), "utf8").split("\n")
    : []
/** The previous table rows (or missed-goal lines) of figures not measured now. */
const kept = (lines: ReadonlyArray<string>, pattern: RegExp) =>
  lines.filter((line) => {
    const name = pattern.exec(line)?.[1]
    return name !== undefined && !measured.has(name)
  })
/** The lines of the previous "Goals missed" section (other sections' lists look alike). */
const missedSection = (() => {
  const start = previousLines.indexOf("## Goals missed")
  if (start < 0) return []
  const end = previousLines.findIndex((line, i) => i > start && line.startsWith("## "))
  return previousLines.slice(start + 1, end < 0 ? undefined : end)
})()
const previousRows = kept(previousLines, /^\| `([^`]+)` +\|/)
const previousMissed = kept(missedSection, /^- `([^`]+)`: .* against /)
const results = {
  ...Object.fromEntries(Object.entries(previous).filter(([name]) => !measured.has(name))),
  ...Object.fromEntries(figures.map((f) => [f.name, Number(f.value.toPrecision(6))]))
}
writeFileSync(join(root, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`)

const cpu = cpus()
const machine = `${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`
const goal = (f: Figure) =>
  (f.goal === undefined ? "" : "atLeast" in f.goal ? `≥ ${format(f.goal.atLeast)}` : `≤ ${format(f.goal.atMost)}`) +
  (f.otherwise === undefined ? "" : `, or ${f.otherwise.goal}`)
const status = (f: Figure) => (f.goal === undefined ? "" : meets(f) ? "met" : "missed")

/** The peers side by side: Troupe's figures are the peers' rates times the ratios measured with them. */
const peersTable = (r: Record<string, number>): string => {
  const n = (name: string) => r[name]
  const times = (a: string, b: string) => (n(a) === undefined || n(b) === undefined ? undefined : n(a)! * n(b)!)
  const cell = (value: number | undefined, unit: string) => (value === undefined ? "—" : `${format(value)} ${unit}`)
  if (n("nact_tell_per_s") === undefined && n("cluster_request_per_s") === undefined) return ""
  return `
## Peers

Measured in the same run, side by side (medians of interleaved rounds); Troupe's rate in each row is the
peer's rate times the ratio measured against it.

| | Troupe | nact 7.6 | Effect Cluster entity (TestRunner) |
| --- | --- | --- | --- |
| one-way messages to one actor | ${cell(times("nact_tell_per_s", "local_tell_vs_nact"), "msg/s")} | ${cell(n("nact_tell_per_s"), "msg/s")} | — |
| request and reply, one after another (vs nact) | ${cell(times("nact_ask_per_s", "local_ask_vs_nact"), "/s")} | ${cell(n("nact_ask_per_s"), "/s")} | |
| request and reply, one after another (vs Cluster) | ${cell(times("cluster_request_per_s", "local_ask_vs_cluster"), "/s")} | | ${cell(n("cluster_request_per_s"), "/s")} |
| bytes per idle actor, never messaged | ${cell(n("idle_actor_bytes"), "B")} | ${cell(n("nact_idle_actor_bytes"), "B")} | — (an entity exists once addressed) |
| bytes per idle actor after one message | ${cell(n("touched_actor_bytes"), "B")} | | ${cell(n("effect_entity_bytes"), "B")} |
`
}
const rows = figures.map(
  (f) =>
    `| \`${f.name}\` | ${format(f.value)}${f.unit === undefined ? "" : ` ${f.unit}`} | ${goal(f)} | ${status(f)} | ${f.detail ?? ""} |`
)
const missed = figures.filter((f) => !meets(f))
const markdown = `# Benchmarks

Written by \`npx -y pnpm@10.34.9 bench\` on ${new Date().toISOString().slice(0, 10)}.
Machine: ${machine}; load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end.${
  previousRows.length === 0
    ? ""
    : `\nThis run measured only \`${only.join(" ")}\` (${figures.length} rows); the other ${previousRows.length} rows are kept from earlier runs (their notes say when).`
}

Ratios compare two things measured side by side in the same run (medians of interleaved rounds), because
the machines are shared and noisy; absolute figures vary from run to run.

| figure | value | goal | status | how |
| --- | --- | --- | --- | --- |
${[...previousRows, ...rows].join("\n")}
${peersTable(results)}${
  missed.length + previousMissed.length === 0
    ? ""
    : `
## Goals missed

${[
  ...previousMissed,
  ...missed.map(
    (f) => `- \`${f.name}\`: ${format(f.value)} against ${goal(f)}. ${why[f.name] ?? "No explanation recorded yet."}`
  )
].join("\n")}
`
}
${Object.keys(results)
  .filter((name) => notes[name] !== undefined)
  .map((name) => `\n## \`${name}\`\n\n${notes[name]}\n`)
  .join("")}
## How each figure is measured

${Object.keys(results)
  .filter((name) => how[name] !== undefined)
  .map((name) => `- \`${name}\`: ${how[name]}`)
  .join("\n")}
`
writeFileSync(join(root, "BENCHMARKS.md"), markdown)
// the tables aligned as the linter wants them
execFileSync(join(root, "node_modules", ".bin", "biome"), ["format", "--write", join(root, "BENCHMARKS.md")], {
  stdio: "ignore"
})
console.log(
  `bench: wrote bench/results.json and BENCHMARKS.md${missed.length > 0 ? ` (${missed.length} goals missed)` : ""}`
)
