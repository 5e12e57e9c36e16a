/**
 * The two processes of a `remote` throughput run on one clock: when the sender read acks and let waiting producers in,
 * what it wrote, when the receiver took frames and acknowledged, and how long acks took to arrive. Made to see how
 * the 100-pair sender refills its window (session 16: 97 % of tells sent inside ack callbacks before the admission
 * was spread over loop turns, 52 % after) and what its frame arena allocates.
 *
 * Steps (in a scratch copy of a checkout, never in one that is committed from; the patch was made on 9ba9e96):
 *
 *   git apply bench/probes/pairs-trace.patch     # stamps in transport link/inbound/frameArena/sendRing, a dump in remote-child
 *   TRACE_DIR=/tmp/t WARMUP=300000 ROUNDS=1 pnpm exec node bench/probes/remote-cpu.ts 100
 *   pnpm exec node bench/probes/pairs-trace.ts /tmp/t [from ms] [events shown]
 *
 * The patch keeps the last two million stamps per process (kind, time, two numbers) in a ring, writes them to
 * `$TRACE_DIR/<role>.bin` on the probe's SIGUSR2, and each process's count per kind to `$TRACE_DIR/counts-<pid>.json`
 * at exit: kind 13 is a fresh 128 KiB frame-arena store (all four busy: their writes' completions had not run yet),
 * 14 a fresh resend-ring chunk. Figures are from the receiver's measured window (its CPU mark) to its last stamp.
 * Under load (other engineers' tests) the gaps are the scheduler's; counts and shares are still telling.
 */
import * as Fs from "node:fs"

const [dir, fromArg, showArg] = process.argv.slice(2)
if (dir === undefined) throw new Error("usage: pairs-trace.ts <TRACE_DIR> [from ms] [events shown]")

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
  7: "flush",
  9: "admit-end",
  10: "wait",
  11: "admit-turn",
  12: "drain-wait",
  13: "arena-fresh",
  14: "ring-fresh",
  20: "mark"
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

const receiver = read("actor-receiver.bin", "R")
const sender = read("actor-sender.bin", "S")
const mark = receiver.find((s) => s.kind === 20)?.at ?? receiver[0]!.at
const end = receiver[receiver.length - 1]!.at
const inWindow = (s: Stamp) => s.at >= mark && s.at <= end
const span = end - mark
const sum = (xs: Array<number>) => xs.reduce((x, y) => x + y, 0)
const quantile = (xs: Array<number>, p: number) => {
  const sorted = [...xs].sort((x, y) => x - y)
  return sorted.length === 0 ? "-" : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2)
}

// the sender: time inside ack callbacks (ack-in to admit-end), what it wrote there, and its waits
let inAcks = 0
let acks = 0
let waits = 0
let frames = 0
let framesInAcks = 0
let envelopes = 0
let envelopesInAcks = 0
let ackAt: number | undefined
const idle: Array<number> = []
let lastAdmitEnd: number | undefined
for (const s of sender) {
  if (!inWindow(s)) continue
  if (s.kind === 1) {
    acks++
    ackAt = s.at
    if (lastAdmitEnd !== undefined) idle.push(s.at - lastAdmitEnd)
  } else if (s.kind === 9 && ackAt !== undefined) {
    inAcks += s.at - ackAt
    ackAt = undefined
    lastAdmitEnd = s.at
  } else if (s.kind === 10) waits++
  else if (s.kind === 2 || s.kind === 3) {
    frames++
    envelopes += s.b - s.a + 1
    if (ackAt !== undefined) {
      framesInAcks++
      envelopesInAcks += s.b - s.a + 1
    }
  }
}
// the receiver: time handing frames over, and the gaps between
let busy = 0
let open: number | undefined
let lastDone: number | undefined
const gaps: Array<number> = []
for (const s of receiver) {
  if (!inWindow(s)) continue
  if (s.kind === 5) {
    open = s.at
    if (lastDone !== undefined) gaps.push(s.at - lastDone)
  } else if (s.kind === 6 && open !== undefined) {
    busy += s.at - open
    open = undefined
    lastDone = s.at
  }
}
// ack latency: the receiver wrote ack n, the sender read ack n
const ackIn = new Map<number, number>()
for (const s of sender) if (s.kind === 1) ackIn.set(s.a, s.at)
const latency: Array<number> = []
for (const s of receiver) {
  const at = inWindow(s) && s.kind === 4 ? ackIn.get(s.a) : undefined
  if (at !== undefined) latency.push(at - s.at)
}
const big = gaps.filter((g) => g > 0.2)
console.log(
  `window ${span.toFixed(1)} ms. Sender: ${acks} acks read, ${inAcks.toFixed(1)} ms inside their callbacks ` +
    `(${Math.round((100 * inAcks) / span)} %), ${waits} waits, ${frames} frames (${framesInAcks} inside acks), ` +
    `${envelopes} envelopes (${envelopesInAcks} inside acks); admit end to next ack p50 ${quantile(idle, 0.5)} ms`
)
console.log(
  `Receiver: busy handing frames over ${busy.toFixed(1)} ms (${Math.round((100 * busy) / span)} %), ` +
    `${big.length} gaps > 0.2 ms summing ${sum(big).toFixed(1)} ms; ack latency p50 ${quantile(latency, 0.5)} ` +
    `p90 ${quantile(latency, 0.9)} ms`
)
for (const file of Fs.readdirSync(dir).filter((f) => f.startsWith("counts-"))) {
  const { root, C } = JSON.parse(Fs.readFileSync(`${dir}/${file}`, "utf8")) as {
    readonly root: string
    readonly C: Record<string, number>
  }
  console.log(`${file} (${root}): arena fresh ${C[13] ?? 0}, ring fresh ${C[14] ?? 0}, drain waits ${C[12] ?? 0}`)
}
if (fromArg !== undefined) {
  const all = [...receiver, ...sender].filter(inWindow).sort((x, y) => x.at - y.at)
  const t0 = all[0]!.at
  for (const s of all.filter((s) => s.at - t0 >= Number(fromArg)).slice(0, Number(showArg ?? 80)))
    console.log(
      `${(s.at - t0).toFixed(3).padStart(9)} ${s.side} ${(NAMES[s.kind] ?? String(s.kind)).padEnd(11)} ${s.a} ${s.b}`
    )
}
