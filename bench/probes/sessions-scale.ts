/**
 * `sessions_10k_vs_1` alone, for A/B runs across checkouts: the bench's `sessions` case `RUNS` times (default 1), each
 * printing its figures, plus the heap's old space after the run (what 10 k sessions at once promoted).
 * Run: `pnpm exec node --expose-gc bench/probes/sessions-scale.ts`.
 */
import { getHeapSpaceStatistics } from "node:v8"
import { cases } from "../sessions.ts"

const scale = cases.find((c) => c.name === "sessions")!
for (let run = 0; run < Number(process.env.RUNS ?? 1); run++) {
  const figures = await scale.run()
  const old = getHeapSpaceStatistics().find((s) => s.space_name === "old_space")!
  console.log(
    figures.map((f) => `${f.name} ${f.value.toFixed(2)}`).join("  "),
    ` old space ${(old.space_used_size / 2 ** 20).toFixed(0)} MB`
  )
}
