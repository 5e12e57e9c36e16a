/**
 * Where a remote ask's time goes, against the raw ws echo, in two processes each (interleaved rounds): the round
 * trip's median and each side's CPU per ask, its main thread's apart from V8's helper threads (from /proc; on a
 * loaded machine the main thread's CPU is the figure that moves with the code, the wall time mostly with the load).
 * `ROOTS` (comma-separated checkouts, default this one) runs the actor side of each checkout in turn, for A/B:
 *
 *   ROOTS=/work/wt/x,/work/main ROUNDS=5 SAMPLES=5000 pnpm exec node bench/probes/ask-trace.ts
 *
 * With stamps (`globalThis.__tr?.(id)` put at the steps of an ask by a temporary patch: `git apply
 * bench/probes/ask-trace-stamps.patch`; never commit it) each process writes its stamps to
 * `/tmp/ask-trace-<role>.json` (`TRACE=1`), and the last round's steps are printed (consecutive stamps, p50/p25/p10),
 * then the round trip cut in four across both processes (the stamps are CLOCK_MONOTONIC, shared by the processes):
 * client write -> server socket data callback (the wire: the write's system call, the peer's wake-up and read),
 * server data -> server write, server write -> client data, client data -> client write.
 * Stamp ids: 0 ask called, 5 `Asks.start`, 13 the ask's callback registered, 8 `outbound.offer`, 9/10 around
 * `Wire.send` (connection.ts), 16/17 around net.Socket's `_writev`/`_write` (the system call), 19 the socket's data
 * callback (prepended), 24 ws's message event, 1 `Engine.onMessage`, 2 frame decoded, 3 `Dispatcher.dispatch`,
 * 4 before `cell.deliver`, 6 the handler entered, 7 `RemoteReply.complete`, 11 `Asks.replied`, 12/21 around the
 * caller's resumption, 20 the send returned in the ask's callback, 22 `Connection.message` returned, 23 the write's
 * callback (`onWritten`), 14 the caller resumed. The raw echo stamps 19, 1, 2, 9, 10, 16, 17 (and 0, 14) alike.
 *
 * `LOG=/tmp/x` writes each child's stdout to `/tmp/x-<role>-<checkout>.log` (with `FLAGS="--trace-opt --trace-deopt"`
 * and `MARK=1`: V8's compiles and deoptimisations among the asks; V8 buffers that output on a pipe, so its lines land
 * late: to count the compiles in a window, use V8's log and bench/probes/compile-jobs.ts).
 *
 * `WINDOWS=1` prints the client's p50 and both sides' main-thread CPU per ask of each 1,000 asks in order (the JIT
 * warms up for ~10,000 asks: the figures keep falling well after the bench's 500 warm-up asks); `MARK=1` writes
 * `MARK <n>` to stdout every 1,000 asks (to place `--trace-opt`/`--trace-deopt` output, given in `FLAGS`); `MARK=100`
 * every 100.
 */
import { spawn } from "node:child_process"
import { createWriteStream, readFileSync } from "node:fs"
import { loadavg } from "node:os"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import type { Figures, Role } from "./ask-trace-child.ts"
import { acrossProcesses, steps } from "./ask-trace-stamps.ts"

/** Each side of a run: a process of its own (see `ask-trace-child.ts`). */
const CHILD = fileURLToPath(new URL("./ask-trace-child.ts", import.meta.url))
const HERE = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "")

const samples = Number(process.env.SAMPLES ?? 5000)
const rounds = Number(process.env.ROUNDS ?? 3)
const roots = (process.env.ROOTS ?? HERE).split(",")
const flags = process.env.FLAGS?.split(" ").filter((f) => f !== "") ?? []
const run = async (kind: "raw" | "actor", root: string) => {
  const out = `/tmp/ask-trace-${process.pid}`
  const start = (r: Role) => {
    const child = spawn(process.execPath, [...flags, CHILD, JSON.stringify(r)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, OUT: out }
    })
    // each child's stdout (V8's --trace-opt/--trace-deopt output and MARK lines) to a file, read as it comes
    const log = process.env.LOG
    if (log !== undefined) child.stdout.pipe(createWriteStream(`${log}-${r.role}-${root.split("/").pop()}.log`))
    else child.stdout.resume()
    return child
  }
  const server = start({ role: `${kind}-server`, samples, root })
  const url = await new Promise<string>((resolve) =>
    Readline.createInterface({ input: server.stdout! }).on("line", (line) => {
      if (line.startsWith('{"ready"')) resolve(JSON.parse(line).ready)
    })
  )
  const client = start({ role: `${kind}-client`, samples, root, url })
  await new Promise((resolve) => client.on("exit", resolve))
  server.kill("SIGTERM")
  await new Promise((resolve) => server.on("exit", resolve))
  const c = JSON.parse(readFileSync(`${out}-${kind}-client.json`, "utf8")) as Figures
  const s = JSON.parse(readFileSync(`${out}-${kind}-server.json`, "utf8")) as Figures
  return { c, s }
}
const line = (name: string, { c, s }: { c: Figures; s: Figures }) =>
  `${name.padEnd(24)} p50 ${c.p50!.toFixed(0).padStart(4)} µs | CPU/ask main: client ${c.main.toFixed(1).padStart(5)} server ${s.main.toFixed(1).padStart(5)} (other threads ${c.other.toFixed(1)} / ${s.other.toFixed(1)})`
for (let round = 0; round < rounds; round++) {
  console.log(line("raw", await run("raw", HERE)))
  for (const root of roots) console.log(line(`actor ${root.split("/").pop()}`, await run("actor", root)))
  console.log(`-- round ${round}, load ${loadavg()[0]!.toFixed(1)}`)
}
if (process.env.TRACE !== undefined) {
  for (const name of ["raw-server", "raw-client", "actor-server", "actor-client"]) steps(name)
  for (const kind of ["raw", "actor"]) acrossProcesses(kind)
}
