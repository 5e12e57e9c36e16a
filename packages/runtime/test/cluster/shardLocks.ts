/**
 * Which runners hold shards now, read from the PostgreSQL server: the engine's shard locks are advisory locks held by
 * each runner's lock session, whose connections the server knows as `troupe-locks-<uuid>`. A test that needs a runner
 * to run part of a batch (to kill it mid-batch) starts the batch once the runners hold their shares: a runner that has
 * just joined is assigned shards at once, but takes them only after their previous owner let them go.
 */
import { Storage } from "@troupe/runtime"
import { Effect, Layer, ManagedRuntime } from "effect"
import { SqlClient } from "effect/sql"

/** The count of shard locks each runner holds (one number per runner holding any, in no order). */
const locksPerRunner = (db: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, never>) =>
  db.runPromise(
    Effect.orDie(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND a.application_name LIKE 'troupe-locks-%'
          GROUP BY a.application_name`
      )
    )
  )

/**
 * Waits until `runners` runners hold `atLeast` shard locks each (fails after `millis`, with the counts); answers the
 * counts.
 *
 * @example
 * await shardsHeld(url(), 2, 10) // r1 and the r3 that just joined hold 10 of the 30 shards or more each
 */
export const shardsHeld = async (
  url: string,
  runners: number,
  atLeast: number,
  millis = 120_000
): Promise<ReadonlyArray<number>> => {
  const db = ManagedRuntime.make(Layer.orDie(Storage.postgresClient({ url, maxConnections: 1 })))
  try {
    const since = Date.now()
    for (;;) {
      const counts = (await locksPerRunner(db)).map((row) => row.n)
      if (counts.length >= runners && counts.filter((n) => n >= atLeast).length >= runners) return counts
      if (Date.now() - since > millis) {
        throw new Error(`${runners} runners did not hold ${atLeast} shards each within ${millis} ms: ${counts}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  } finally {
    await db.dispose()
  }
}
