/**
 * SQL statements per call on each side of `cluster_ask_vs_entity`: a Troupe sharded ask and a raw Effect
 * Cluster entity request, on the bench's SQLite runner (volatile messages). Counts every statement that
 * `node:sqlite` runs while the calls run, background work (lock refresh, status) included.
 * Run: `pnpm exec node --expose-gc bench/probes/cluster-sql.ts`.
 */
import { StatementSync } from "node:sqlite"
import { ASKS, rawAsks, troupeAsks, withRunner } from "../cluster.ts"

let statements = 0
const counted: Array<"all" | "run" | "get" | "iterate"> = ["all", "run", "get", "iterate"]
for (const method of counted) {
  const original = StatementSync.prototype[method] as (...args: Array<unknown>) => unknown
  ;(StatementSync.prototype as unknown as Record<string, unknown>)[method] = function (
    this: StatementSync,
    ...args: Array<unknown>
  ) {
    statements++
    return original.apply(this, args)
  }
}

await withRunner(async (run) => {
  await run(troupeAsks)
  await run(rawAsks)
  for (const [name, calls] of [
    ["Troupe sharded ask", troupeAsks],
    ["raw entity request", rawAsks]
  ] as const) {
    const before = statements
    await run(calls)
    console.log(`${name}: ${((statements - before) / ASKS).toFixed(4)} statements per call`)
  }
  console.log(`(${statements} statements in all, setup and background work included)`)
  return []
})
