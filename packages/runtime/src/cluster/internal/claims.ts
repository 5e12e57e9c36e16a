/**
 * Claims on stored messages fenced by the shard locks: a runner claims a shard's stored messages only while it holds
 * the shard's lock, and a shard's next owner clears its claims after every claim of an old owner has landed.
 *
 * Effect Cluster reads a runner's unprocessed stored messages in batches and claims what a read returns (it sets
 * `last_read`; a claimed message is read by no one for 10 minutes). The messages of a shard the runner no longer holds
 * when it hands the batch over are skipped, their claims kept; the shard's next owner clears the shard's claims when it
 * takes the shard, and never after. So a read of an old owner that reached the database after the next owner's
 * clearing (held in a loaded runner's pool queue or event loop, at the database behind a lock, or issued after its
 * lock was lost without a release: its lock session's backend ended, or its process was killed) parked the shard's
 * messages for 10 minutes: delivered by no runner, while the actors' later messages were (Runners.test.ts: ledgers of
 * one shard answered `[1, 3]` after a rolling restart). Persisted tells, asks and sessions' messages alike.
 *
 * Here (PostgreSQL) every read is a transaction that first takes, for each shard read, a shared transaction lock of
 * its own (an advisory lock in a namespace of Troupe's), then keeps only the shards whose engine lock (the advisory
 * lock Effect Cluster's runner storage holds for the shard) is held by this runner's lock session, known by its
 * `application_name`, and claims the messages of those alone. The clearing when a runner takes a shard takes the
 * shard's lock exclusively, so it comes after every read transaction of the shard that began before it: a claim that
 * commits was made while its runner held the engine lock, and a later owner took the lock after it and clears after its
 * commit. A read of a dead runner that never commits is rolled back with its claims. A read does not wait: a shard
 * whose clearing is under way (its old owner's read not ended) is left out of the read, on this runner (it clears the
 * shard) and on another (whose lock of the shard is then lost anyway), and read next time.
 */
import { Effect, Fiber, Layer, Schedule, type Scope } from "effect"
import { MessageStorage, type ShardId, ShardingConfig } from "effect/cluster"
import { PersistenceError } from "effect/cluster/ClusterError"
import { SqlClient } from "effect/sql"

type Messages = MessageStorage.MessageStorage["Service"]

/** Effect Cluster's FNV-1a hash of an advisory lock namespace's name (its `SqlRunnerStorage`, a fixed wire format). */
const namespace = (name: string): number => {
  const bytes = new TextEncoder().encode(name)
  let hash = 0x811c9dc5
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193)
  return hash | 0
}

/** Where the claims fence looks, and who this runner's lock session is. */
export interface Options {
  /**
   * The `application_name` of the connections of this runner's runner storage (its shard locks): unique to it, and
   * seen by the runner's pool in `pg_stat_activity` (the same database user).
   */
  readonly lockSession: string
  /** The engine's table prefix. Default `cluster`. */
  readonly prefix?: string
}

/**
 * `messages` with its reads fenced by the shard locks and its clearings of a shard's claims after every read of the
 * shard in flight, over `sql` (the client of `messages`) and the shards of `config`; clearings run on in `scope` when
 * their caller gives up.
 */
export const fenced = (
  messages: Messages,
  sql: SqlClient.SqlClient,
  config: ShardingConfig.ShardingConfig["Service"],
  scope: Scope.Scope,
  options: Options
): Messages => {
  const prefix = options.prefix ?? "cluster"
  // the engine's advisory lock of a shard: its namespace, as `pg_locks` shows it (an unsigned oid), and its number
  const engineClass = namespace(`effect-cluster:${prefix}`) >>> 0
  const ours = namespace(`troupe-claims:${prefix}`)
  const lockNumbers = new Map<string, number>()
  const groups = [...ShardingConfig.shardGroupConfig(config).available]
  groups.forEach((group, i) => {
    for (let shard = 1; shard <= config.shardsPerGroup; shard++)
      lockNumbers.set(`${group}:${shard}`, (i + 1) * 1_000_000 + shard)
  })
  const numberOf = (id: ShardId.ShardId) => {
    const n = lockNumbers.get(String(id))
    if (n === undefined) throw new Error(`Claims: shard ${id} is in no shard group of the configuration`)
    return n
  }
  const array = (numbers: ReadonlyArray<number>) => sql.literal(`ARRAY[${numbers.join(",")}]::int4[]`)
  const persistence = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.mapError(effect, (cause) => (cause instanceof PersistenceError ? cause : new PersistenceError({ cause })))

  /** The shards among `ids` whose fence this transaction holds shared and whose engine lock this runner holds. */
  const owned = Effect.fnUntraced(function* (ids: ReadonlyArray<ShardId.ShardId>) {
    const byNumber = new Map(ids.map((id) => [numberOf(id), id]))
    // the fences first, then the engine locks: a lock this runner holds after its fence is taken is taken by a next
    // owner only after it, whose clearing then waits for this transaction
    const fences = yield* sql<{ k: number }>`
      SELECT k FROM unnest(${array([...byNumber.keys()])}) AS t(k)
      WHERE pg_try_advisory_xact_lock_shared(${sql.literal(String(ours))}, k)`
    if (fences.length === 0) return []
    // (shard locks in the engine's table instead of advisory locks: its lease is not checked, only the fences hold)
    if (config.shardLockDisableAdvisory) return fences.flatMap((row) => byNumber.get(row.k) ?? [])
    const held = yield* sql<{ k: number }>`
      SELECT l.objid::int4 AS k FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ${sql.literal(String(engineClass))}
      AND l.objsubid = 2 AND l.objid = ANY(${sql.literal(`ARRAY[${fences.map((r) => r.k).join(",")}]::oid[]`)})
      AND a.application_name = ${options.lockSession}`
    return held.flatMap((row) => {
      const id = byNumber.get(row.k)
      return id === undefined ? [] : [id]
    })
  })

  /** Clears the claims on the messages of `ids` once every read of them in flight has ended, retried until done. */
  const clear = (ids: ReadonlyArray<ShardId.ShardId>) =>
    sql`
      SELECT pg_advisory_xact_lock(${sql.literal(String(ours))}, k)
      FROM (SELECT k FROM unnest(${array(ids.map(numberOf))}) AS t(k) ORDER BY k) AS s`.pipe(
      Effect.andThen(messages.resetShards(ids)),
      sql.withTransaction,
      persistence,
      Effect.tapError((error) =>
        Effect.logWarning("Could not clear the claims on the stored messages of taken shards, retrying", error).pipe(
          Effect.annotateLogs({ shards: ids.map(String) })
        )
      ),
      Effect.retry(Schedule.spaced("1 second"))
    )

  /** The shards this runner is clearing, by their string form (how many clearings of each). */
  const clearing = new Map<string, number>()
  const count = (ids: ReadonlyArray<ShardId.ShardId>, by: number) =>
    Effect.sync(() => {
      for (const id of ids) {
        const n = (clearing.get(String(id)) ?? 0) + by
        if (n === 0) clearing.delete(String(id))
        else clearing.set(String(id), n)
      }
    })

  return {
    ...messages,
    unprocessedMessages: (shardIds, options) => {
      // (taken now: the engine passes the set of shards it holds, which changes; those being cleared are left out)
      const ids = [...shardIds].filter((id) => !clearing.has(String(id)))
      if (ids.length === 0) return messages.unprocessedMessages(ids, options)
      return Effect.flatMap(owned(ids), (mine) =>
        mine.length === 0 ? Effect.succeed([]) : messages.unprocessedMessages(mine, options)
      ).pipe(sql.withTransaction, persistence)
    },
    resetShards: (shardIds) => {
      const ids = [...shardIds]
      if (ids.length === 0) return Effect.void
      // (on in the layer's scope: the engine gives up waiting after its lock interval and reads the shards meanwhile,
      // each read leaving them out while the clearing waits)
      return Effect.andThen(
        count(ids, 1),
        Effect.flatMap(
          Effect.forkIn(Effect.ensuring(clear(ids), count(ids, -1)), scope, { startImmediately: true }),
          Fiber.join
        )
      )
    }
  }
}

/**
 * The engine's message storage from `messages` (on PostgreSQL), fenced by the shard locks ({@link fenced}).
 *
 * @example
 * ```ts
 * const storage = Claims.layer(SqlMessageStorage.layer, { lockSession: "troupe-runner-5f3a" })
 * ```
 */
export const layer = <E, R>(
  messages: Layer.Layer<MessageStorage.MessageStorage, E, R>,
  options: Options
): Layer.Layer<MessageStorage.MessageStorage, E, R | SqlClient.SqlClient | ShardingConfig.ShardingConfig> =>
  Layer.effect(
    MessageStorage.MessageStorage,
    Effect.gen(function* () {
      return fenced(
        yield* MessageStorage.MessageStorage,
        yield* SqlClient.SqlClient,
        yield* ShardingConfig.ShardingConfig,
        yield* Effect.scope,
        options
      )
    })
  ).pipe(Layer.provide(messages))
