/**
 * An `effect/sql` client over Node's built-in `node:sqlite` (Node ≥ 22.13): one connection, statements
 * serialised by a semaphore, WAL journal. No native module to build, nothing to download.
 *
 * (`@effect/sql-sqlite-node` does the same for effect 4.0 betas, but imports `effect/unstable/sql`, which
 * effect 4.1 no longer has; this is the small part of it Troupe needs, on effect 4.1's own helpers.)
 */
import type { DatabaseSync, StatementSync } from "node:sqlite"
import { Context, Effect, Layer, type Scope, Semaphore, Stream } from "effect"
// the module itself: the `effect/reactivity` barrel would also load its Atom, HTTP API and RPC clients (~3 MB of heap)
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient, type SqlConnection, SqlError, Statement } from "effect/sql"

/** How a SQLite database is opened. */
export interface SqliteOptions {
  /** The database file (created if absent), or `":memory:"`. */
  readonly filename: string
  /**
   * `"normal"` (default): a commit survives a crash of the process (kill -9), and, in WAL mode, may be lost
   * by a power failure. `"full"`: every commit is synced to disk, so it also survives a power failure.
   */
  readonly synchronous?: "normal" | "full"
  /** How long a statement waits for a lock held by another process before failing. Default 5000 ms. */
  readonly busyTimeoutMillis?: number
}

const loadSqlite = () => import("node:sqlite")

const toParam = (value: unknown): unknown => {
  switch (typeof value) {
    case "boolean":
      return value ? 1 : 0
    case "undefined":
      return null
    case "object":
      return value instanceof Date ? value.toISOString() : value
    default:
      return value
  }
}

const error = (cause: unknown, message: string, operation: string) =>
  new SqlError.SqlError({ reason: SqlError.classifySqliteError(cause, { message, operation }) })

/** Opens the database and makes the client; the database is closed when the scope closes. */
export const make = (
  options: SqliteOptions
): Effect.Effect<SqlClient.SqlClient, SqlError.SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function* () {
    const { DatabaseSync } = yield* Effect.promise(loadSqlite)
    const db: DatabaseSync = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const db = new DatabaseSync(options.filename, { timeout: options.busyTimeoutMillis ?? 5000 })
          db.exec("PRAGMA journal_mode = WAL")
          db.exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
          db.exec("PRAGMA foreign_keys = ON")
          return db
        },
        catch: (cause) => error(cause, `Could not open the SQLite database ${options.filename}`, "open")
      }),
      (db) => Effect.sync(() => db.isOpen && db.close())
    )
    const cache = new Map<string, StatementSync>()
    const prepare = (sql: string): StatementSync => {
      let statement = cache.get(sql)
      if (statement === undefined) {
        if (cache.size >= 500) cache.clear()
        statement = db.prepare(sql)
        cache.set(sql, statement)
      }
      return statement
    }
    const run = (
      sql: string,
      params: ReadonlyArray<unknown>,
      mode: "rows" | "values" | "raw",
      prepared: boolean
    ): Effect.Effect<ReadonlyArray<never>, SqlError.SqlError> =>
      Effect.withFiber((fiber) => {
        try {
          const statement = prepared ? prepare(sql) : db.prepare(sql)
          statement.setReadBigInts(Context.get(fiber.context, SqlClient.SafeIntegers))
          statement.setReturnArrays(mode === "values")
          const args = params.map(toParam) as Array<never>
          if (statement.columns().length > 0) return Effect.succeed(statement.all(...args) as Array<never>)
          const result = statement.run(...args)
          return Effect.succeed(mode === "raw" ? (result as never) : [])
        } catch (cause) {
          return Effect.fail(error(cause, "Failed to execute statement", "execute"))
        }
      })
    const connection: SqlConnection.Connection = {
      execute: (sql, params, transformRows) => {
        const rows = run(sql, params, "rows", true)
        return transformRows === undefined ? rows : Effect.map(rows, transformRows)
      },
      executeRaw: (sql, params) => run(sql, params, "raw", true),
      executeValues: (sql, params) => run(sql, params, "values", true) as never,
      executeValuesUnprepared: (sql, params) => run(sql, params, "values", false) as never,
      executeUnprepared: (sql, params, transformRows) => {
        const rows = run(sql, params, "rows", false)
        return transformRows === undefined ? rows : Effect.map(rows, transformRows)
      },
      executeStream: (sql, params, transformRows) =>
        Stream.fromIterableEffect(
          transformRows === undefined
            ? run(sql, params, "rows", true)
            : Effect.map(run(sql, params, "rows", true), transformRows)
        )
    }
    const semaphore = yield* Semaphore.make(1)
    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore,
      isTransaction: () => db.isTransaction
    })
    return yield* SqlClient.make({
      ...acquirers,
      compiler: Statement.makeCompilerSqlite(),
      driver: "sqlite",
      spanAttributes: [["db.system.name", "sqlite"]]
    })
  })

/** A layer with a SQLite `SqlClient`. */
export const layer = (options: SqliteOptions): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.effect(SqlClient.SqlClient, make(options)).pipe(Layer.provide(Reactivity.layer))
