/**
 * Cluster status: what each runner holds, kept in the cluster's own database. Every runner writes a row of
 * `troupe_cluster_status` every few seconds (its address, the shards it holds, its active buckets and its
 * active actors per sharded type) and publishes `ShardsChanged` on the system event stream when its shards
 * change (a rebalance: a runner joined, left or died). `troupe cluster status <database url>` prints the table.
 *
 * @example
 * ```ts
 * const runners = yield* ClusterStatus.read // over the cluster's SqlClient
 * for (const r of runners) console.log(r.address, r.shards.length, r.actors)
 * ```
 */
import { Context, Duration, Effect, Schema, Scope } from "effect"
import { ShardId, type Sharding } from "effect/cluster"
import { SqlClient } from "effect/sql"
import * as ActorSystem from "../ActorSystem.ts"

/** One runner's row. */
export const RunnerStatus = Schema.Struct({
  /** `host:port` (or `single` for a SQLite runner). */
  address: Schema.String,
  /** The shard ids it held at its last report (`default` group). */
  shards: Schema.Array(Schema.Number),
  /** Active Effect Cluster entities (Troupe's buckets) on it. */
  buckets: Schema.Number,
  /** Active actors per sharded type. */
  actors: Schema.Record(Schema.String, Schema.Number),
  /** When it last reported (epoch milliseconds); a runner silent for 3 intervals is presumed gone. */
  updatedAt: Schema.Number
})
export type RunnerStatus = typeof RunnerStatus.Type

/** The event a runner publishes when the shards it holds change. */
export class ShardsChanged extends Schema.TaggedClass<ShardsChanged>()("ShardsChanged", {
  address: Schema.String,
  gained: Schema.Array(Schema.Number),
  lost: Schema.Array(Schema.Number),
  held: Schema.Number
}) {}

const counters = new WeakMap<object, Map<string, () => number>>()

/**
 * @internal Where the Sharded types of the runner `sharding` register how to count their active actors here: one
 * table per runner (two runners in one process report their own), gone with it.
 */
export const countersOf = (sharding: object): Map<string, () => number> => {
  let table = counters.get(sharding)
  if (table === undefined) counters.set(sharding, (table = new Map()))
  return table
}

/**
 * Creates the status table if it is missing. On PostgreSQL under a transaction-scoped advisory lock: runners that
 * start at once would otherwise race in `CREATE TABLE IF NOT EXISTS`, and all but one fail with a unique violation
 * on `pg_type` (the check and the creation are not atomic there).
 */
const createTable = (sql: SqlClient.SqlClient) => {
  const create = sql`CREATE TABLE IF NOT EXISTS troupe_cluster_status (
    address TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    updated_at BIGINT NOT NULL
  )`
  return sql.onDialectOrElse({
    pg: () =>
      sql.withTransaction(
        sql`SELECT pg_advisory_xact_lock(hashtext('troupe_cluster_status'))`.pipe(Effect.andThen(create))
      ),
    orElse: () => create
  })
}

/** @internal What a runner layer says about itself, for its status reports. */
export class Runner extends Context.Service<
  Runner,
  { readonly address: string; readonly shards: number; readonly sql: SqlClient.SqlClient }
>()("@troupe/runtime/ClusterStatus/Runner") {}

const reporting = new WeakSet<object>()

/**
 * @internal Starts this runner's reports (every 2 s, in `scope`) unless they run already: called by each
 * `Sharded.layer`, with the actor system in context for the events. The row is deleted when the scope closes.
 */
export const report = (
  sharding: Sharding.Sharding["Service"],
  scope: Scope.Scope
): Effect.Effect<void, never, ActorSystem.ActorSystem> =>
  Effect.gen(function* () {
    const runner = yield* Effect.serviceOption(Runner)
    if (runner._tag === "None" || reporting.has(sharding)) return
    reporting.add(sharding)
    const { address, shards, sql } = runner.value
    yield* Effect.orDie(createTable(sql))
    let held = new Set<number>()
    const once = Effect.gen(function* () {
      const now = new Set<number>()
      for (let id = 1; id <= shards; id++) if (sharding.hasShardId(ShardId.make("default", id))) now.add(id)
      const gained = [...now].filter((id) => !held.has(id))
      const lost = [...held].filter((id) => !now.has(id))
      held = now
      if (gained.length > 0 || lost.length > 0) {
        yield* ActorSystem.publish("cluster", new ShardsChanged({ address, gained, lost, held: now.size }))
      }
      const status: RunnerStatus = {
        address,
        shards: [...now].sort((a, b) => a - b),
        buckets: yield* sharding.activeEntityCount,
        actors: Object.fromEntries([...countersOf(sharding)].map(([name, count]) => [name, count()])),
        updatedAt: Date.now()
      }
      const text = JSON.stringify(status)
      yield* sql`INSERT INTO troupe_cluster_status (address, status, updated_at)
        VALUES (${address}, ${text}, ${status.updatedAt})
        ON CONFLICT (address) DO UPDATE SET status = ${text}, updated_at = ${status.updatedAt}`
    }).pipe(Effect.catchCause((cause) => Effect.logWarning("cluster status not written", cause)))
    // (bounded, as every step of a runner's stop: a database that does not answer leaves a row that goes stale)
    yield* Effect.addFinalizer(() =>
      sql`DELETE FROM troupe_cluster_status WHERE address = ${address}`.pipe(
        Effect.timeoutOption("5 seconds"),
        Effect.ignore,
        Effect.andThen(Effect.sync(() => reporting.delete(sharding)))
      )
    ).pipe(Effect.provideService(Scope.Scope, scope))
    yield* once.pipe(Effect.andThen(Effect.sleep("2 seconds")), Effect.forever, Effect.forkIn(scope))
  })

/**
 * The runners' rows, newest first (over the cluster's SqlClient).
 *
 * @example
 * ```ts
 * const runners = yield* ClusterStatus.read.pipe(Effect.provide(Storage.postgresClient({ url })))
 * ```
 */
export const read: Effect.Effect<ReadonlyArray<RunnerStatus>, unknown, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* createTable(sql)
  const rows = yield* sql<{ status: string }>`SELECT status FROM troupe_cluster_status ORDER BY address`
  const decode = Schema.decodeUnknownEffect(Schema.fromJsonString(RunnerStatus))
  return yield* Effect.forEach(rows, (row) => decode(row.status))
})

/** A runner that has not reported for this long is shown as gone. */
export const staleAfter = Duration.seconds(6)
