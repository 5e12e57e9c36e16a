/**
 * Where a checked session message's CPU goes: runs `monitor_overhead`'s checked (or unchecked) session
 * `ROUNDS` times, for `node --cpu-prof`; `summary` prints the self time per function of a profile.
 * Run: `pnpm exec node --cpu-prof --cpu-prof-dir=/tmp/prof bench/probes/monitor-profile.ts checked|unchecked`,
 * then `pnpm exec node bench/probes/monitor-profile.ts summary /tmp/prof/<file>.cpuprofile`.
 * `cpu` prints the main thread's CPU per message of the two sessions in `ROUNDS` interleaved rounds, warm and
 * without a forced GC between rounds (which discards V8's optimized code: see the `monitor_overhead` note);
 * run it in two checkouts one after the other for an A/B.
 */
import { readFileSync } from "node:fs"

const [mode, file] = process.argv.slice(2)
if (mode === "summary") {
  const profile = JSON.parse(readFileSync(file!, "utf8")) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>
    samples: Array<number>
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  for (const id of profile.samples) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    const key = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`
    self.set(key, (self.get(key) ?? 0) + 1)
  }
  const total = profile.samples.length
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40)))
    console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${key}`)
} else if (mode === "cpu") {
  const { messages, runs } = await import("../choreography.ts")
  const { median, onSystem } = await import("../support.ts")
  const { loadavg } = await import("node:os")
  const perMessage = async (run: typeof runs.checked) => {
    const start = process.threadCpuUsage()
    await onSystem(run)
    const used = process.threadCpuUsage(start)
    return ((used.user + used.system) * 1000) / messages
  }
  const checked: Array<number> = []
  const unchecked: Array<number> = []
  for (let i = -2; i < Number(process.env.ROUNDS ?? 21); i++) {
    const pair = i % 2 === 0 ? [runs.checked, runs.unchecked] : [runs.unchecked, runs.checked]
    const [a, b] = [await perMessage(pair[0]!), await perMessage(pair[1]!)]
    if (i < 0) continue
    checked.push(pair[0] === runs.checked ? a : b)
    unchecked.push(pair[0] === runs.checked ? b : a)
  }
  const ratio = median(checked.map((c, i) => c / unchecked[i]!))
  console.log(
    `checked ${median(checked).toFixed(0)} ns/msg, unchecked ${median(unchecked).toFixed(0)} ns/msg (main thread), ` +
      `ratio ${ratio.toFixed(3)}, load ${loadavg()[0]!.toFixed(1)}`
  )
} else {
  const { Effect } = await import("effect")
  const { ActorSystem } = await import("@troupe/runtime")
  const { runs } = await import("../choreography.ts")
  const run = mode === "unchecked" ? runs.unchecked : runs.checked
  for (let i = 0; i < Number(process.env.ROUNDS ?? 20); i++)
    await Effect.runPromise(Effect.provide(run, ActorSystem.layer({ name: "probe" })))
}
