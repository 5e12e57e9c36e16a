/**
 * CPU per remote message, on each side: runs the `remote` bench's actor pair(s) (`bench/remote-child.ts`, or
 * copies of it in other checkouts, for A/B runs) `ROUNDS` times, interleaved, and prints per round the
 * throughput and the CPU time (user + system) each process spent per message from the first send (sender) or
 * first receipt (receiver) to the last receipt; then the median per script. On a loaded machine the throughput
 * is noise; the CPU per message much less so. Add `--cpu-prof` flags with `TROUPE_BENCH_CHILD_FLAGS`; `STATS=1`
 * prints each side's transport counters (frames, acks, envelopes) too, and a patched child's `probe` counters (see
 * pairs-trace.ts). `WARMUP=n` sends n messages first: the receiver's
 * figures are then of a warm process (its clock and CPU start after them; the sender's CPU includes them).
 * Run: `pnpm exec node bench/probes/remote-cpu.ts [pairs] [messages] [child script...]`.
 */
import { spawn } from "node:child_process"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"

const [pairsArg, messagesArg, ...scriptArgs] = process.argv.slice(2)
const pairs = Number(pairsArg ?? 1)
const messages = Number(messagesArg ?? 300_000)
const scripts = scriptArgs.length > 0 ? scriptArgs : [fileURLToPath(new URL("../remote-child.ts", import.meta.url))]
const rounds = Number(process.env.ROUNDS ?? 3)
/** Messages sent before the measured ones (the receiver's clock and CPU start after them; the sender's include them). */
const warmup = Number(process.env.WARMUP ?? 0)

interface Cpu {
  readonly user: number
  readonly system: number
}

const child = (script: string, role: Record<string, unknown>, onLine: (line: Record<string, unknown>) => void) => {
  const flags = process.env.TROUPE_BENCH_CHILD_FLAGS?.split(" ").filter((f) => f !== "") ?? []
  // PIN=1: the receiver on CPU 0, the sender on CPU 1 (`taskset`), so that the scheduler cannot put both on one core;
  // PIN=same: both on CPU 0 (two processes taking turns on one core, as on a loaded machine)
  const pin =
    process.env.PIN === "1"
      ? ["taskset", "-c", role.role === "actor-receiver" ? "0" : "1"]
      : process.env.PIN === "same"
        ? ["taskset", "-c", "0"]
        : []
  const [command, ...args] = [...pin, process.execPath, ...flags, script, JSON.stringify(role)]
  const process_ = spawn(command!, args, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, TROUPE_BENCH_CPU: "1" }
  })
  // a line that is not JSON (a V8 trace asked for with TROUPE_BENCH_CHILD_FLAGS, such as --trace-deopt) goes to
  // stderr, after its process's role (`[sender] ...`: the two children's traces apart)
  const tag = `[${String(role.role).replace("actor-", "")}] `
  Readline.createInterface({ input: process_.stdout! }).on("line", (line) => {
    if (line.startsWith("{")) onLine(JSON.parse(line))
    else process.stderr.write(`${tag}${line}\n`)
  })
  return process_
}

const round = (script: string) =>
  new Promise<{ perSecond: number; receiver: Cpu; sender: Cpu }>((resolve) => {
    let perSecond = 0
    const cpus: Record<string, Cpu> = {}
    let sender: ReturnType<typeof spawn> | undefined
    const collect = (name: string) => (line: Record<string, unknown>) => {
      if (line.cpu !== undefined) {
        cpus[name] = { ...(line.cpu as Cpu), warmMarked: line.warmMarked === true } as Cpu
        if (process.env.STATS !== undefined)
          console.log(name, JSON.stringify(line.stats), JSON.stringify(line.probe ?? {}))
        const threads = line.threads as { main: number; background: number } | undefined
        const gc = line.gc as { minor: number; minorMs: number; major: number; majorMs: number } | undefined
        console.log(
          `${name} event loop busy ${Math.round(100 * (line.busy as number))} %` +
            (gc === undefined
              ? ""
              : `; GC ${gc.minor} minor ${gc.minorMs.toFixed(0)} ms, ${gc.major} major ${gc.majorMs.toFixed(0)} ms`) +
            (threads === undefined
              ? ""
              : `; CPU main thread ${threads.main} ms, other threads ${threads.background} ms`) +
            (line.faults === undefined ? "" : `; ${line.faults} page faults`)
        )
        if (cpus.receiver !== undefined && cpus.sender !== undefined)
          resolve({ perSecond, receiver: cpus.receiver, sender: cpus.sender })
      }
    }
    const receiver = child(script, { role: "actor-receiver", messages, pairs, warmup }, (line) => {
      if (typeof line.ready === "string") {
        sender = child(script, { role: "actor-sender", messages, pairs, warmup, url: line.ready }, collect("sender"))
      } else if (line.result !== undefined) {
        perSecond = (line.result as { messagesPerSecond: number }).messagesPerSecond
        receiver.kill("SIGUSR2")
        sender?.kill("SIGUSR2")
      } else collect("receiver")(line)
    })
  })

const us = (cpu: Cpu) => (cpu.user + cpu.system) / messages
/**
 * The sender's CPU is from its first send (over the warm-up's messages too), or, with a child that marks it after
 * the warm-up (`warmMarked`), from there.
 */
const usSender = (cpu: Cpu & { readonly warmMarked?: boolean }) =>
  (cpu.user + cpu.system) / (cpu.warmMarked === true ? messages : messages + warmup)
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const results = scripts.map(() => ({
  perSecond: [] as Array<number>,
  receiver: [] as Array<number>,
  sender: [] as Array<number>
}))
for (let i = 0; i < rounds; i++) {
  for (let s = 0; s < scripts.length; s++) {
    const r = await round(scripts[s]!)
    results[s]!.perSecond.push(r.perSecond)
    results[s]!.receiver.push(us(r.receiver))
    results[s]!.sender.push(usSender(r.sender))
    console.log(
      `${s} pairs ${pairs}: ${Math.round(r.perSecond)} msg/s; CPU per message: receiver ${us(r.receiver).toFixed(2)} µs, sender ${usSender(r.sender).toFixed(2)} µs`
    )
  }
}
for (let s = 0; s < scripts.length; s++) {
  const r = results[s]!
  console.log(
    `median ${scripts[s]}: ${Math.round(median(r.perSecond))} msg/s; receiver ${median(r.receiver).toFixed(2)} µs, sender ${median(r.sender).toFixed(2)} µs`
  )
}
