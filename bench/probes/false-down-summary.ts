/**
 * Summarises what `false-down-preload.ts` recorded: per node, its own tick lateness, its peers' heartbeat gaps, and
 * each down verdict with the silence that led to it and this node's own lateness in that silence.
 *
 *   pnpm exec node bench/probes/false-down-summary.ts /tmp/probe
 */
import { readdirSync, readFileSync } from "node:fs"

interface Histogram {
  readonly counts: ReadonlyArray<number>
  readonly max: number
  readonly total: number
  readonly sum: number
}
interface Recorded {
  readonly node: string
  readonly ranMs: number
  readonly bounds: ReadonlyArray<number | null>
  readonly tickLag: Histogram
  readonly gaps: Histogram
  readonly verdicts: ReadonlyArray<{ readonly silenceMs: number; readonly ownLagInSilenceMs: number }>
}

const dir = process.argv[2] ?? "/tmp/probe"
for (const file of readdirSync(dir)
  .filter((name) => name.endsWith(".json"))
  .sort()) {
  const recorded = JSON.parse(readFileSync(`${dir}/${file}`, "utf8")) as Recorded
  const show = (h: Histogram) =>
    `${recorded.bounds
      .map((bound, i) => (h.counts[i] ? `<${bound ?? "∞"}: ${h.counts[i]}` : ""))
      .filter((x) => x !== "")
      .join(", ")}; max ${h.max} ms, mean ${(h.sum / Math.max(1, h.total)).toFixed(0)} ms`
  console.log(`${file} (ran ${(recorded.ranMs / 1000).toFixed(0)} s)`)
  console.log(`  own tick lateness: ${show(recorded.tickLag)}`)
  console.log(`  peers' heartbeat gaps: ${show(recorded.gaps)}`)
  for (const verdict of recorded.verdicts) console.log(`  verdict: ${JSON.stringify(verdict)}`)
}
