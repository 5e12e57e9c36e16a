/**
 * Cluster: the runner a process is in Effect Cluster, with Troupe's durable storage on the same database.
 * Runners find each other through the database alone (runner registrations and shard locks in its tables):
 * start several processes on one PostgreSQL database and they share the shards; stop or kill one and the
 * others take its shards once its locks expire. One process on its own uses an embedded SQLite file.
 *
 * @example
 * ```ts
 * // one process: SQLite
 * const single = Cluster.layerSqlite({ filename: "troupe.db" })
 * // several processes: PostgreSQL, each runner on its own port
 * const runner = Cluster.layerPostgres({ url: process.env.DATABASE_URL!, port: 34431 })
 * program.pipe(Effect.provide(Sharded.layer(Tickets)), Effect.provide(runner))
 * ```
 */
import { randomUUID } from "node:crypto"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import {
  RunnerAddress,
  Sharding,
  ShardingConfig,
  SingleRunner,
  SqlMessageStorage,
  SqlRunnerStorage
} from "effect/cluster"
import { Digest } from "effect/crypto"
import { SqlClient } from "effect/sql"
import { badDuration } from "../Durations.ts"
import * as Storage from "../durable/Storage.ts"
import * as ClusterStatus from "./ClusterStatus.ts"
import { boundedStop } from "./internal/boundedStop.ts"
import * as Claims from "./internal/claims.ts"
import * as LockCalls from "./internal/lockCalls.ts"

/** Options every runner takes. */
export interface Options {
  /**
   * Shards per group: the unit the cluster places and moves. Fixed for the life of a cluster (changing it
   * moves every entity). Default 300.
   */
  readonly shards?: number
  /** How long a killed runner's shards stay locked before another runner takes them. Default 35 s. */
  readonly shardLockExpiration?: Duration.Input
  /** How often a runner renews its shard locks. Default 10 s (keep it well under the expiration). */
  readonly shardLockRefreshInterval?: Duration.Input
  /** How long an entity stays active without messages. Default 1 minute. */
  readonly entityMaxIdleTime?: Duration.Input
  /**
   * How many entities may be active on one runner; a message that would activate one more fails with
   * `MailboxFull` until others are passivated. Default 10,000 (Effect Cluster's).
   */
  readonly maxActiveEntities?: number | "unbounded"
  /** Other Effect Cluster settings, as they are (see `ShardingConfig`). */
  readonly sharding?: Partial<ShardingConfig.ShardingConfig["Service"]>
  /**
   * How long the engine's own stop (shard handoff, sockets, storage loops; after the actors') may take when the
   * runner stops: past it, it is left running, an error is logged, and the stop goes on. Default 30 s.
   */
  readonly engineStopTimeout?: Duration.Input
  /**
   * How long each of the storage's own stops may take when the runner stops (after the engine's): its writer's
   * pending writes, then the database client (its pool waits for every connection still in use, which an engine left
   * running past its deadline may never give back). Past it, it is left running, an error is logged, and the stop goes
   * on: nothing acknowledged is lost (a write is acknowledged once committed; what was not is the next owner's to
   * handle). Default 10 s.
   */
  readonly storageStopTimeout?: Duration.Input
}

/**
 * An option of a runner has a value it cannot take (from plain JavaScript or a config file): the runner's layer fails
 * with it when built, before anything is started, naming the option and what it may be.
 *
 * @example
 * ```ts
 * Cluster.layerSqlite({ filename: "troupe.db", shardLockExpiration: "35 sec" }) // fails: InvalidClusterOptions
 * ```
 */
export class InvalidClusterOptions extends Schema.TaggedError<InvalidClusterOptions>()("InvalidClusterOptions", {
  option: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The cluster runner's option ${this.option} ${this.detail}`
  }
}

/** `layer()`, unless an option is not what it should be: then a layer that fails with {@link InvalidClusterOptions}. */
const checked = <A, E>(
  options: Options & Storage.Options & { readonly connectTimeout?: unknown; readonly idleTimeout?: unknown },
  layer: () => Layer.Layer<A, E>
): Layer.Layer<A, E | InvalidClusterOptions> => {
  const bad =
    options.shards !== undefined && !(Number.isInteger(options.shards) && options.shards >= 1)
      ? { option: "shards", detail: `is ${String(options.shards)}: expected a whole number from 1, e.g. 300` }
      : badDuration([
          ["shardLockExpiration", options.shardLockExpiration],
          ["shardLockRefreshInterval", options.shardLockRefreshInterval],
          ["entityMaxIdleTime", options.entityMaxIdleTime],
          ["engineStopTimeout", options.engineStopTimeout],
          ["storageStopTimeout", options.storageStopTimeout],
          ["flushDelay", options.flushDelay],
          ["nodeLease", options.nodeLease],
          ["connectTimeout", options.connectTimeout],
          ["idleTimeout", options.idleTimeout]
        ])
  return bad === undefined
    ? layer()
    : (Layer.effectDiscard(Effect.fail(new InvalidClusterOptions(bad))) as Layer.Layer<A, InvalidClusterOptions>)
}

/**
 * What Troupe changes in Effect Cluster's defaults (docs/cluster.md says why): local calls are not
 * serialised as if remote (the protocol's schemas still check every message that crosses a runner).
 */
const shardingConfig = (options: Options, extra: Partial<ShardingConfig.ShardingConfig["Service"]> = {}) => ({
  simulateRemoteSerialization: false,
  ...(options.shards === undefined ? {} : { shardsPerGroup: options.shards }),
  ...(options.shardLockExpiration === undefined ? {} : { shardLockExpiration: options.shardLockExpiration }),
  ...(options.shardLockRefreshInterval === undefined
    ? {}
    : { shardLockRefreshInterval: options.shardLockRefreshInterval }),
  ...(options.entityMaxIdleTime === undefined ? {} : { entityMaxIdleTime: options.entityMaxIdleTime }),
  ...(options.maxActiveEntities === undefined ? {} : { maxResidentEntities: options.maxActiveEntities }),
  ...extra,
  ...options.sharding
})

/** The runner plus Troupe's storage, over one `SqlClient`. */
type RunnerLayer<E> = Layer.Layer<Sharding.Sharding | Storage.Storage, E>

const withStorage = <E, E2>(
  runner: Layer.Layer<Sharding.Sharding, E, SqlClient.SqlClient>,
  client: Layer.Layer<SqlClient.SqlClient, E2>,
  options: Storage.Options & Options & { readonly address: string }
): RunnerLayer<E | E2 | Storage.StorageError> => {
  const storageStop = millisOf(options.storageStopTimeout ?? "10 seconds")
  return Layer.mergeAll(
    boundedStop(runner, millisOf(options.engineStopTimeout ?? "30 seconds"), "The cluster engine"),
    // (no node-name claims: runners share the database, and shard locks give each sharded actor one runner)
    boundedStop(
      Layer.effect(Storage.Storage, Storage.make({ ...options, nodeClaims: false })),
      storageStop,
      "The storage writer (its pending writes)"
    ),
    Layer.effect(
      ClusterStatus.Runner,
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return { address: options.address, shards: options.shards ?? 300, sql }
      })
    )
  ).pipe(
    Layer.provide(boundedStop(client, storageStop, "The database client (connections still in use)"))
  ) as RunnerLayer<E | E2 | Storage.StorageError>
}

const millisOf = (input: Duration.Input): number => Duration.toMillis(input)

/**
 * One runner on a SQLite file: every shard is its own; messages marked persisted and Troupe's durable state
 * are stored in the file. For one process (SQLite is not made for several writers).
 *
 * @example
 * ```ts
 * Cluster.layerSqlite({ filename: "./data/troupe.db" })
 * ```
 */
export const layerSqlite = (
  options: Options & Storage.SqliteOptions & Storage.Options
): RunnerLayer<Storage.StorageError | InvalidClusterOptions | unknown> =>
  checked(options, () =>
    withStorage(
      SingleRunner.layer({ runnerStorage: "sql", shardingConfig: shardingConfig(options) }).pipe(
        Layer.provide(Digest.layerWebCrypto)
      ) as Layer.Layer<Sharding.Sharding, unknown, SqlClient.SqlClient>,
      Storage.sqliteClient(options),
      { ...options, address: `sqlite:${options.filename}` }
    )
  )

/** Options of a runner on PostgreSQL. */
export interface PostgresOptions extends Options, Storage.PostgresOptions, Storage.Options {
  /** The host other runners reach this one at. Default `localhost`. */
  readonly host?: string
  /** The port this runner listens on for other runners. Default 34431. */
  readonly port?: number
  /** Only send to sharded actors, host none (a backend in front of the runners). Default false. */
  readonly clientOnly?: boolean
}

/**
 * A runner among others on one PostgreSQL database: it registers itself, takes its share of the shards
 * (advisory locks) and hands them back when it stops; runners send each other messages over sockets.
 *
 * @example
 * ```ts
 * Cluster.layerPostgres({ url: "postgres://troupe@db/troupe", host: "10.0.0.7", port: 34431 })
 * ```
 */
export const layerPostgres = (
  options: PostgresOptions
): RunnerLayer<Storage.StorageError | InvalidClusterOptions | unknown> =>
  checked(options, () => postgresRunner(options))

const postgresRunner = (options: PostgresOptions): RunnerLayer<Storage.StorageError | unknown> => {
  const config = shardingConfig(options, {
    runnerAddress: Option.some(RunnerAddress.make(options.host ?? "localhost", options.port ?? 34431))
  })
  const clientOnly = options.clientOnly ?? false
  // this runner's lock session, by the name its connections give the server (one per build): its stored messages are
  // claimed only while it holds their shards' locks (see claims.ts)
  const storages = Layer.unwrap(
    Effect.sync(() => {
      const lockSession = `troupe-locks-${randomUUID()}`
      return Layer.merge(
        // stored messages: on the runner's pool, with Troupe's storage
        Claims.layer(SqlMessageStorage.layer.pipe(Layer.provide(Digest.layerWebCrypto)), { lockSession }),
        // registrations and shard locks: on a client of their own (see runnerStorageConnections)
        LockCalls.layer(SqlRunnerStorage.layer).pipe(
          Layer.provide(
            Storage.postgresClient({
              url: options.url,
              maxConnections: runnerStorageConnections,
              applicationName: lockSession
            })
          )
        )
      )
    })
  ).pipe(Layer.provide(ShardingConfig.layerFromEnv(config)))
  return withStorage(
    NodeClusterSocket.layer({ storage: "byo", clientOnly, shardingConfig: config }).pipe(
      Layer.provide(storages)
    ) as unknown as Layer.Layer<Sharding.Sharding, unknown, SqlClient.SqlClient>,
    Storage.postgresClient(options),
    { ...options, address: `${options.host ?? "localhost"}:${options.port ?? 34431}` }
  )
}

/**
 * The connections of a runner's own client for Effect Cluster's runner storage (its registration, the others'
 * heartbeats, its shard locks): one the engine reserves for its shard locks (PostgreSQL advisory locks belong to a
 * session), one for the rest. On the runner's pool they queued behind its message traffic: under a backlog (a killed
 * runner's shards taken over, thousands of stored messages read and written) the pool's queue held thousands of
 * statements, the engine's reads of the runners (5 s deadline) and a rebuild of its lock connection (10 s) waited
 * behind them, its lock storage stayed unhealthy and it held no shards while it was (Runners.test.ts under load,
 * "Shard lock storage is still unhealthy" for minutes). A client of its own never waits behind messages.
 */
const runnerStorageConnections = 2

/**
 * A runner from a database URL: `postgres://...` joins the runners on that database, anything else is a
 * SQLite file name (`sqlite:` prefix optional).
 *
 * @example
 * ```ts
 * Cluster.layerFromUrl(process.env.TROUPE_CLUSTER ?? "troupe.db", { port: 34432 })
 * ```
 */
export const layerFromUrl = (
  url: string,
  options: Omit<PostgresOptions, "url"> = {}
): RunnerLayer<Storage.StorageError | unknown> =>
  /^postgres(ql)?:\/\//.test(url)
    ? layerPostgres({ ...options, url })
    : layerSqlite({ ...options, filename: url.replace(/^sqlite:(\/\/)?/, "") })

/** How many entities are active on this runner now. */
export const activeEntities: Effect.Effect<number, never, Sharding.Sharding> = Sharding.Sharding.use(
  (sharding) => sharding.activeEntityCount
)
