/**
 * The `resume_ms_p50` case alone (a quicker `pnpm bench resume` that writes nothing), with the CPU and wall time
 * the recovering system took until every session ended, and the load average:
 * `pnpm exec node bench/probes/resume.ts [runs]`. Each run is a fresh process (the figure is of a cold run).
 * `pnpm exec node bench/probes/resume.ts profile [file]`: one run, the recovery alone profiled (V8's CPU
 * profiler); prints the functions with the most time of their own, and with the most in all (their callees too).
 */
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { median } from "../support.ts"

interface Profile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
    readonly children?: ReadonlyArray<number>
  }>
  readonly samples: ReadonlyArray<number>
}

/** Self and total time per function (by name, file and line), as shares of the samples. */
const summary = (profile: Profile, top: number) => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const key = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    return `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`
  }
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  for (const id of profile.samples) {
    self.set(key(id), (self.get(key(id)) ?? 0) + 1)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) seen.add(key(at))
    for (const k of seen) total.set(k, (total.get(k) ?? 0) + 1)
  }
  const n = profile.samples.length
  const print = (title: string, table: Map<string, number>) => {
    console.log(title)
    for (const [k, v] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`${((100 * v) / n).toFixed(1).padStart(5)} %  ${k}`)
  }
  print(`self (${n} samples)`, self)
  print("total", total)
}

const mode = process.argv[2]
if (mode === "child" || mode === "profile") {
  const { resumeRun } = await import("../durable.ts")
  const session = new Session()
  let profile: Profile | undefined
  const recovery =
    mode === "profile"
      ? {
          started: async () => {
            session.connect()
            await session.post("Profiler.enable")
            await session.post("Profiler.setSamplingInterval", { interval: 100 })
            await session.post("Profiler.start")
          },
          ended: async () => {
            profile = (await session.post("Profiler.stop")).profile as unknown as Profile
          }
        }
      : undefined
  const { reached, cpuMillis, wallMillis } = await resumeRun(recovery)
  const figures = { p50: median(reached), cpuMillis, wallMillis }
  if (profile === undefined) console.log(JSON.stringify(figures))
  else {
    if (process.argv[3] !== undefined) writeFileSync(process.argv[3], JSON.stringify(profile))
    console.log(JSON.stringify(figures))
    summary(profile, Number(process.env.TOP ?? 40))
  }
} else {
  const runs = Number(mode ?? 3)
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "child"], { encoding: "utf8" })
    const r = JSON.parse(out.trim().split("\n").at(-1)!) as { p50: number; cpuMillis: number; wallMillis: number }
    console.log(
      `resume_ms_p50 ${r.p50.toFixed(1)} ms; recovering system: CPU ${r.cpuMillis.toFixed(0)} ms, wall ${r.wallMillis.toFixed(0)} ms; load ${loadavg()[0]!.toFixed(2)}`
    )
  }
}
