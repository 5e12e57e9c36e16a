/**
 * The `resume_ms_p50` case alone (a quicker `pnpm bench resume` that writes nothing), with the CPU and wall time
 * the recovering system took until every session ended, and the load average:
 * `pnpm exec node bench/probes/resume.ts [runs]`. Each run is a fresh process (the figure is of a cold run).
 */
import { execFileSync } from "node:child_process"
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { median } from "../support.ts"

if (process.argv[2] === "child") {
  const { resumeRun } = await import("../durable.ts")
  const { reached, cpuMillis, wallMillis } = await resumeRun()
  console.log(JSON.stringify({ p50: median(reached), cpuMillis, wallMillis }))
} else {
  const runs = Number(process.argv[2] ?? 3)
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "child"], { encoding: "utf8" })
    const r = JSON.parse(out.trim().split("\n").at(-1)!) as { p50: number; cpuMillis: number; wallMillis: number }
    console.log(
      `resume_ms_p50 ${r.p50.toFixed(1)} ms; recovering system: CPU ${r.cpuMillis.toFixed(0)} ms, wall ${r.wallMillis.toFixed(0)} ms; load ${loadavg()[0]!.toFixed(2)}`
    )
  }
}
