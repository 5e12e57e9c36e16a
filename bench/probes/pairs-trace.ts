/**
 * The two processes of a `remote` throughput run on one clock: what the sender wrote when, what the receiver read,
 * decoded and acknowledged when. Made to tell apart the two modes of the warm 100-pair run (bench/probes/
 * pairs-warmup.ts: 851–879 k msg/s in three rounds of four, 1.77 M in one, against 1.77–1.88 M for one pair): in
 * a pipelined run the receiver decodes frame after frame while the sender fills the next; if the two take turns, the
 * receiver's gaps between frames add up to about half the span.
 *
 * Steps (in a scratch copy of a checkout, never in one that is committed from; the patch was made on e3f5325):
 *
 *   git apply bench/probes/pairs-trace.patch     # stamps in transport link/inbound/engine, a dump in remote-child
 *   TRACE_DIR=/tmp/t STATS=1 WARMUP=300000 ROUNDS=1 pnpm exec node bench/probes/remote-cpu.ts 100
 *   pnpm exec node bench/probes/pairs-trace.ts /tmp/t [last ms = 100] [events shown = 60]
 *
 * The patch keeps the last million stamps per process (kind, time, two numbers) in a ring and writes them to
 * `$TRACE_DIR/<role>.bin` on the probe's SIGUSR2; with `STATS=1`, remote-cpu.ts also prints the sender's counters:
 * `midTurn` (full frames written inside the turn that filled them), `flushFrames` (written by the end-of-turn
 * microtask), `drainSet` (a write left more than 64 KiB in the socket's buffer), `blockedByDrain` (a full frame
 * held because of it), `admits`/`admitted` (acks that let waiting senders in, and senders let in).
 *
 * Under load (other engineers' tests, load 20–45) the timeline shows only the scheduler: 8 loaded runs of
 * 2026-12-06 had `drainSet` 0 and ~76 % of the frames written mid-turn at both 1 and 100 pairs. Run it quiet.
 */
import * as Fs from "node:fs"

const [dir, lastArg, showArg] = process.argv.slice(2)
if (dir === undefined) throw new Error("usage: pairs-trace.ts <TRACE_DIR> [last ms] [events shown]")

interface Stamp {
  readonly side: "R" | "S"
  readonly kind: number
  readonly at: number
  readonly a: number
  readonly b: number
}

const NAMES: Record<number, string> = {
  1: "ack-in",
  2: "write-full",
  3: "write-flush",
  4: "ack-out",
  5: "data-in",
  6: "data-done",
  7: "sched-flush",
  8: "frame-in"
}

const read = (file: string, side: "R" | "S"): Array<Stamp> => {
  const bytes = Fs.readFileSync(`${dir}/${file}`)
  const values = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8)
  const stamps: Array<Stamp> = []
  for (let i = 0; i + 3 < values.length; i += 4) {
    if (values[i]! > 0)
      stamps.push({ side, kind: values[i]!, at: values[i + 1]!, a: values[i + 2]!, b: values[i + 3]! })
  }
  return stamps
}

const all = [...read("actor-receiver.bin", "R"), ...read("actor-sender.bin", "S")].sort((x, y) => x.at - y.at)
const end = all[all.length - 1]!.at
const stamps = all.filter((s) => s.at >= end - Number(lastArg ?? 100))
const span = stamps[stamps.length - 1]!.at - stamps[0]!.at

// the receiver is busy from a frame's arrival to the end of its envelopes' dispatch
let busy = 0
let open: number | undefined
let lastDone: number | undefined
const gaps: Array<number> = []
for (const s of stamps) {
  if (s.side !== "R") continue
  if (s.kind === 8 && open === undefined) {
    open = s.at
    if (lastDone !== undefined) gaps.push(s.at - lastDone)
  } else if (s.kind === 6 && open !== undefined) {
    busy += s.at - open
    open = undefined
    lastDone = s.at
  }
}
gaps.sort((x, y) => y - x)
const big = gaps.filter((g) => g > 0.2)
const writes = stamps.filter((s) => s.side === "S" && (s.kind === 2 || s.kind === 3))
const envelopes = writes.reduce((n, s) => n + s.b - s.a + 1, 0)
console.log(
  `span ${span.toFixed(1)} ms: ${envelopes} envelopes written (${Math.round(envelopes / span)} k/s) in ${writes.length} ` +
    `frames (${writes.filter((s) => s.kind === 2).length} mid-turn); receiver busy ${Math.round((100 * busy) / span)} %, ` +
    `${big.length} gaps > 0.2 ms summing ${big.reduce((x, y) => x + y, 0).toFixed(1)} ms (largest ` +
    `${gaps
      .slice(0, 6)
      .map((g) => g.toFixed(2))
      .join(", ")})`
)
const t0 = stamps[0]!.at
for (const s of stamps.slice(0, Number(showArg ?? 60))) {
  if (s.kind === 7) continue
  const count = s.kind === 2 || s.kind === 3 || s.kind === 5 ? ` (${s.b - s.a + 1})` : ""
  console.log(`${(s.at - t0).toFixed(3).padStart(9)} ${s.side} ${NAMES[s.kind]!.padEnd(11)} ${s.a} ${s.b}${count}`)
}
