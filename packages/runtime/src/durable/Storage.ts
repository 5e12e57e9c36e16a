/**
 * Storage: where durable actors, agents, messages and sessions keep what a crash must not take back. It is an
 * `effect/sql` database: an embedded SQLite file by default (nothing to install or run), or PostgreSQL when
 * several processes share it. Troupe creates its tables and migrates them (versioned, with `effect/sql`'s
 * Migrator) when the layer is built, and refuses a database migrated by a newer Troupe.
 *
 * Writes are group-committed: whatever is pending when a batch starts is written in one transaction (see
 * docs/durability.md for what is written when, and when a reply is sent).
 *
 * Provide the storage *outside* the actor system, so that it outlives the actors (they write their last
 * state when they stop).
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const counter = yield* ActorSystem.spawn(Durable.persistent(counterBehavior, { id: "counter", state: Schema.Number }))
 *   yield* counter.tell(Counter.Add({ n: 1 }))
 * })
 * program.pipe(Effect.provide(ActorSystem.layer()), Effect.provide(Storage.layerSqlite({ filename: "troupe.db" })))
 * ```
 */
import { type Array as Arr, Context, Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { ClaimConnection } from "./internal/claimConnection.ts"
import { fromSqlError, type NodeFenced, type StorageError } from "./internal/errors.ts"
import * as Migrations from "./internal/migrations.ts"
import { NodeClaims } from "./internal/nodeClaim.ts"
import { pgClient } from "./internal/pgDriver.ts"
import * as Sqlite from "./internal/sqlite.ts"
import { checkOptions } from "./internal/storageOptions.ts"
import { Writer } from "./internal/writer.ts"

export {
  InvalidStorageOptions,
  NodeFenced,
  NodeNameTaken,
  PersistenceConflict,
  StateNotEncodable,
  StorageCorrupt,
  type StorageError,
  StorageTooNew,
  StorageUnavailable
} from "./internal/errors.ts"

/** A state as stored: its revision (one more per write), the version of its schema, and its JSON. */
export interface StoredState {
  readonly revision: number
  readonly version: number
  /** The state encoded with its schema, as JSON. */
  readonly state: unknown
  /** When it was written (epoch milliseconds). */
  readonly updatedAt: number
}

/** An entry of a persistence id's journal. */
export interface JournalEntry {
  /** Its place in the journal (entries are read in this order). */
  readonly seq: number
  /** Any JSON value. */
  readonly entry: unknown
}

/** The operations of a storage. */
export interface StorageService {
  /** `"sqlite"` or `"pg"`. */
  readonly dialect: "sqlite" | "pg"
  /** Where the data is (a file, or a database on a host), for messages. */
  readonly location: string
  /** The stored state of a persistence id, if any. */
  state(persistenceId: string): Effect.Effect<Option.Option<StoredState>, StorageError>
  /** Deletes everything stored for a persistence id (state, journal, durable messages). */
  forget(persistenceId: string): Effect.Effect<void, StorageError>
  /**
   * The journal of a persistence id: ordered JSON entries, appended (committed before `append` returns, in
   * the writer's next batch), read back in order, and truncated. Durable agents journal their model calls
   * and tool results here.
   */
  readonly journal: {
    read(persistenceId: string, from?: number): Effect.Effect<ReadonlyArray<JournalEntry>, StorageError>
    append(persistenceId: string, entries: ReadonlyArray<JournalEntry>): Effect.Effect<void, StorageError>
    /** Deletes the entries with `from <= seq < before` (all of them without a range). */
    remove(
      persistenceId: string,
      range?: { readonly from?: number; readonly before?: number }
    ): Effect.Effect<void, StorageError>
  }
  /** Waits until every write pending now is committed. */
  readonly flush: Effect.Effect<void>
}

/** The storage service. */
export class Storage extends Context.Service<Storage, StorageService>()("@troupe/runtime/Storage") {}

/** Options of a storage, whatever its database. */
export interface Options {
  /**
   * How long a state nobody waits for may stay unwritten, to be written with others in one transaction.
   * A reply never waits for it: a reply's state is written at once. Default 2 ms.
   */
  readonly flushDelay?: Duration.Input
  /**
   * PostgreSQL: whether write batches run on a connection of the pool that they keep for themselves, so that
   * a batch (and everyone waiting for it) never queues behind the actors' reads and other statements for a
   * connection. Default: when the pool can spare one, that is when at least two of its connections are free
   * (idle, or not opened yet) as a batch looks for one: with a client of one connection (`maxConnections: 1`,
   * `PgClient.makeClient`), or a pool whose other connections are held (Effect Cluster keeps one for its shard
   * locks), batches take a connection from the pool like any statement, so that reads never wait for ever
   * behind the writer. `false`: never. `true`: also with a client that does not tell its pool's occupancy (one
   * not made by `@effect/sql-pg`), which is then taken to have connections to spare.
   *
   * @example
   * ```ts
   * Storage.layer({ writerConnection: false }) // every batch takes a connection from the pool
   * ```
   */
  readonly writerConnection?: boolean
  /**
   * How long a node name's holder on another host may go without a heartbeat (written every third of it) before
   * a process that wants the name takes it for dead and takes it over (see "One process per node name" in
   * docs/durability.md). A holder on the same host is known alive or dead at once. Default 10 s.
   */
  readonly nodeLease?: Duration.Input
}

/** @internal What the runtime's durable modules use. */
export interface Internal {
  readonly sql: SqlClient.SqlClient
  /** The connection of the node claims and their heartbeat: their own on PostgreSQL (see `claimConnection.ts`). */
  readonly claimConnection: ClaimConnection
  readonly writer: Writer
  readonly location: string
  /** The typed error of a failed read. */
  readonly failed: (operation: string, persistenceId?: string) => (error: SqlError.SqlError) => StorageError
  /**
   * Claims the node name for this process on this storage (once; see `nodeClaim.ts`): before a node recovers or
   * runs durable work. Fails with `NodeNameTaken` while another live process holds it.
   */
  readonly claim: (node: string) => Effect.Effect<void, StorageError>
  /** Calls `f` once this storage lost a node name it held (taken over: see `fencing.ts`); the answer cancels it. */
  readonly whenLost: (f: (error: NodeFenced) => void) => () => void
  /** Waits while this storage holds its node names; fails with `NodeFenced` once it lost one. */
  readonly fenced: Effect.Effect<never, NodeFenced>
}

const InternalKey: unique symbol = Symbol.for("@troupe/runtime/Storage/internal")

/** @internal */
export const internal = (storage: StorageService): Internal =>
  (storage as unknown as { readonly [InternalKey]: Internal })[InternalKey]

/**
 * Makes a storage over the `SqlClient` in context: checks the options (`InvalidStorageOptions` names one that is not
 * what it may be), migrates the database, starts the writer. `nodeClaims: false` for a cluster runner's storage: the
 * runners of a cluster share one database, often under one node name, and Effect Cluster's shard locks already give
 * each sharded actor one runner at a time.
 */
export const make = (
  options: Options & { readonly location?: string; readonly nodeClaims?: boolean } = {}
): Effect.Effect<StorageService, StorageError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function* () {
    yield* checkOptions("storage", options)
    const sql = yield* SqlClient.SqlClient
    const dialect = sql.onDialectOrElse({ pg: () => "pg" as const, orElse: () => "sqlite" as const })
    const location = options.location ?? `the ${dialect} database`
    yield* Migrations.migrate(location)
    const context = yield* Effect.context<SqlClient.SqlClient>()
    const fork = Effect.runForkWith(context)
    // on PostgreSQL, a connection of their own: a heartbeat that waits behind the pool's traffic stands still
    const claimConnection = new ClaimConnection(sql)
    yield* Effect.addFinalizer(() => claimConnection.close)
    const claims = new NodeClaims({
      sql,
      own: claimConnection,
      location,
      leaseMillis: Duration.toMillis(options.nodeLease ?? "10 seconds"),
      fork: (effect) => fork(effect)
    })
    const writer = new Writer({
      sql,
      location,
      delayMillis: Duration.toMillis(options.flushDelay ?? "2 millis"),
      fork: (effect) => fork(effect),
      writerConnection: options.writerConnection,
      fence: claims
    })
    // the writer's connection is taken now, while the pool is idle (under traffic the pool may have none to spare)
    yield* writer.prepare
    yield* Effect.addFinalizer(() =>
      Effect.andThen(
        writer.drain,
        Effect.andThen(
          Effect.sync(() => writer.close()),
          // the node names are given up once the last write committed (a successor reads what this process wrote)
          Effect.andThen(writer.release, claims.release)
        )
      )
    )
    const failed =
      (operation: string, persistenceId?: string) =>
      (error: SqlError.SqlError): StorageError =>
        fromSqlError(error, operation, persistenceId, location)
    const service: StorageService & { readonly [InternalKey]: Internal } = {
      [InternalKey]: {
        sql,
        claimConnection,
        writer,
        location,
        failed,
        claim: options.nodeClaims === false ? () => Effect.void : (node) => claims.claim(node),
        whenLost: options.nodeClaims === false ? () => () => {} : (f) => claims.whenLost(f),
        fenced: options.nodeClaims === false ? Effect.never : claims.fenced
      },
      dialect,
      location,
      state: (persistenceId) =>
        sql<{
          revision: number | string
          version: number
          state: string
          updated_at: number | string
        }>`SELECT revision, version, state, updated_at FROM troupe_snapshots WHERE persistence_id = ${persistenceId}`.pipe(
          Effect.map((rows) =>
            Option.map(Option.fromUndefinedOr(rows[0]), (row) => ({
              revision: Number(row.revision),
              version: Number(row.version),
              state: JSON.parse(row.state) as unknown,
              updatedAt: Number(row.updated_at)
            }))
          ),
          Effect.mapError(failed("read", persistenceId))
        ),
      forget: (persistenceId) =>
        writer.run((sql) =>
          Effect.all(
            [
              sql`DELETE FROM troupe_snapshots WHERE persistence_id = ${persistenceId}`,
              sql`DELETE FROM troupe_journal WHERE persistence_id = ${persistenceId}`,
              sql`DELETE FROM troupe_inbox WHERE recipient = ${persistenceId}`
            ],
            { discard: true }
          )
        ),
      journal: {
        read: (persistenceId, from = Number.MIN_SAFE_INTEGER) =>
          sql<{ seq: number | string; entry: string }>`SELECT seq, entry FROM troupe_journal
            WHERE persistence_id = ${persistenceId} AND seq >= ${from} ORDER BY seq`.pipe(
            Effect.map((rows) =>
              rows.map((row) => ({ seq: Number(row.seq), entry: JSON.parse(row.entry) as unknown }))
            ),
            Effect.mapError(failed("journal read", persistenceId))
          ),
        append: (persistenceId, entries) =>
          entries.length === 0
            ? Effect.void
            : writer.run(
                (sql) =>
                  sql`INSERT INTO troupe_journal ${sql.insert(
                    entries.map((e) => ({
                      persistence_id: persistenceId,
                      seq: e.seq,
                      entry: JSON.stringify(e.entry)
                    })) as unknown as Arr.NonEmptyReadonlyArray<Record<string, unknown>>
                  )}`
              ),
        remove: (persistenceId, range) => {
          const from = range?.from ?? Number.MIN_SAFE_INTEGER
          const before = range?.before ?? Number.MAX_SAFE_INTEGER
          return writer.run(
            (sql) =>
              sql`DELETE FROM troupe_journal WHERE persistence_id = ${persistenceId} AND seq >= ${from} AND seq < ${before}`
          )
        }
      },
      flush: writer.drain
    }
    return Storage.of(service)
  })

/**
 * Waits while the storage in context holds its node names, and fails with `NodeFenced` once another process took one
 * over (this process stalled or was cut from the database longer than `nodeLease`: see "One process per node name"
 * in docs/durability.md). By then the node's durable work in this process was stopped (a `DurableStopped` system
 * event says what); the process should stop: race its main program with this.
 *
 * @example
 * ```ts
 * // the program ends, failing with NodeFenced, once this process lost its node name
 * const main = Effect.raceFirst(serve, Storage.fenced)
 * ```
 */
export const fenced: Effect.Effect<never, NodeFenced, Storage> = Effect.flatMap(
  Storage,
  (storage) => internal(storage).fenced
)

/** A storage over the `SqlClient` in context (bring your own client, e.g. one shared with Effect Cluster). */
export const layer = (options: Options = {}): Layer.Layer<Storage, StorageError, SqlClient.SqlClient> =>
  Layer.effect(Storage, make(options))

/** How a SQLite database is opened (see {@link layerSqlite}). */
export type SqliteOptions = Sqlite.SqliteOptions

/**
 * A SQLite `SqlClient` over Node's built-in `node:sqlite`: one connection, WAL journal. For sharing the
 * database with other `effect/sql` users; {@link layerSqlite} is the usual way in.
 */
export const sqliteClient = (options: SqliteOptions): Layer.Layer<SqlClient.SqlClient, StorageError> =>
  checked(
    "sqlite",
    options,
    Sqlite.layer(options).pipe(
      Layer.catch((error) => Layer.effectDiscard(Effect.fail(fromSqlError(error, "open", undefined, options.filename))))
    ) as Layer.Layer<SqlClient.SqlClient, StorageError>
  )

/** `layer`, built once `options` are checked (`InvalidStorageOptions` before anything is opened). */
const checked = <A>(
  kind: Parameters<typeof checkOptions>[0],
  options: object,
  layer: Layer.Layer<A, StorageError>
): Layer.Layer<A, StorageError> => Layer.unwrap(Effect.as(checkOptions(kind, options), layer))

/**
 * Storage in a SQLite file (created if absent): the default, for one process.
 *
 * @example
 * ```ts
 * Storage.layerSqlite({ filename: "./data/troupe.db" })
 * ```
 */
export const layerSqlite = (options: SqliteOptions & Options): Layer.Layer<Storage, StorageError> =>
  checked(
    "sqlite storage",
    options,
    Layer.effect(Storage, make({ ...options, location: options.filename })).pipe(Layer.provide(sqliteClient(options)))
  )

/** How to reach a PostgreSQL database. */
export interface PostgresOptions {
  /** `postgres://user:password@host:port/database`. */
  readonly url: string | Redacted.Redacted<string>
  /** Connections in the pool. Default 10. */
  readonly maxConnections?: number
  /**
   * How long opening a connection may take: TCP, the server's start of a backend process for it, authentication.
   * Default 30 s (the driver's 5 s failed statements of runners on a loaded host, where the server's processes wait
   * for a CPU as long; an unreachable server refuses at once).
   */
  readonly connectTimeout?: Duration.Input
  /**
   * How long a connection of the pool may stay unused before the pool closes it. Default 10 minutes (the driver's
   * 60 s closed a runner's connections between bursts of traffic and opened them again under the next burst, each
   * open on the path of a statement).
   */
  readonly idleTimeout?: Duration.Input
  /** The name the connections give the server (`application_name`, shown in `pg_stat_activity`). Default none. */
  readonly applicationName?: string
}

/** A PostgreSQL `SqlClient` (`@effect/sql-pg`), for sharing the database with other `effect/sql` users. */
export const postgresClient = (options: PostgresOptions): Layer.Layer<SqlClient.SqlClient, StorageError> =>
  checked(
    "postgres",
    options,
    Layer.unwrap(
      Effect.map(pgClient, (PgClient) =>
        PgClient.layer({
          url: typeof options.url === "string" ? Redacted.make(options.url) : options.url,
          maxConnections: options.maxConnections ?? 10,
          connectTimeout: options.connectTimeout ?? "30 seconds",
          idleTimeout: options.idleTimeout ?? "10 minutes",
          ...(options.applicationName === undefined ? {} : { applicationName: options.applicationName })
        }).pipe(
          Layer.catch((error) =>
            Layer.effectDiscard(Effect.fail(fromSqlError(error, "connect", undefined, "PostgreSQL")))
          )
        )
      )
    ) as Layer.Layer<SqlClient.SqlClient, StorageError>
  )

/**
 * Storage in a PostgreSQL database, for several processes sharing it.
 *
 * @example
 * ```ts
 * Storage.layerPostgres({ url: Redacted.make(process.env.DATABASE_URL!) })
 * ```
 */
export const layerPostgres = (options: PostgresOptions & Options): Layer.Layer<Storage, StorageError> =>
  checked(
    "postgres storage",
    options,
    Layer.suspend(() => {
      const url = typeof options.url === "string" ? options.url : Redacted.value(options.url)
      const location = `PostgreSQL at ${url.replace(/\/\/[^@]*@/, "//")}`
      return Layer.effect(Storage, make({ ...options, location })).pipe(Layer.provide(postgresClient(options)))
    })
  )
