/**
 * The write batches' own connection on PostgreSQL. A runner's pool (10 connections by default) is shared by
 * every read of its actors (an inbox read per poke) and by Effect Cluster's own statements: under a backlog
 * thousands of them wait in the pool's queue, and a batch that took its connection from the pool waited behind
 * them (up to 20 s of a 24 s batch at load 38, Runners.test.ts), while every waiter of the batch waited for it.
 * The writer reserves one connection of the pool for itself instead, and runs each batch's transaction on it.
 *
 * It reserves one only when the pool can spare it: when the pool (its stats, from `@effect/sql-pg`'s client) has
 * at least two connections that nobody holds or that it may still open. A client of one connection (a pool of
 * one, or `PgClient.makeClient`), or a pool whose other connections are all held (Effect Cluster reserves one for
 * its shard locks), would otherwise give its last connection to the writer for good, and every read would wait
 * for it for ever; there, a batch takes a connection from the pool for its transaction like any statement, and
 * the next batch looks again. A client that tells nothing of its pool gets a connection of its own only when the
 * user says so (`writerConnection: true`).
 *
 * A batch that fails for another reason than a deadlock or serialization failure gives its connection back (it
 * may be broken: the server restarted, the socket closed); the next batch reserves a new one. A kept connection
 * that fails the `BEGIN` of a batch (closed while it was idle) is given back and the batch begins on a new one. On SQLite (one
 * connection, statements serialised) batches run with the client's own transactions.
 */
import type { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Scope } from "effect"
import type { SqlClient, SqlConnection, SqlError } from "effect/sql"
import { PG_CLIENT } from "./pgDriver.ts"

/**
 * Runs write batches in transactions, on a connection of their own on PostgreSQL.
 *
 * @example
 * ```ts
 * const transactions = new Transactions(sql, undefined) // PostgreSQL: a connection of its own when the pool can spare one
 * yield* transactions.run(sql`INSERT INTO t VALUES (1)`, isVictim)
 * yield* transactions.release // when the storage closes
 * ```
 */
export class Transactions {
  private readonly sql: SqlClient.SqlClient
  /** Whether batches keep a connection of their own: never, when the pool can spare one, or always. */
  private readonly dedicated: "never" | "spare" | "always"
  /** The pool's occupancy, when the client tells it. */
  private readonly poolStats: PgClient.PgClient["poolStats"] | undefined
  private reserved: { readonly connection: SqlConnection.Connection; readonly scope: Scope.Closeable } | undefined

  /**
   * `wanted`: whether batches keep a connection of their own (PostgreSQL only; `Storage.Options.writerConnection`):
   * `false` never; otherwise when the pool can spare one, or (`true`, a client whose pool is not known) always.
   */
  constructor(sql: SqlClient.SqlClient, wanted: boolean | undefined) {
    this.sql = sql
    const pg = sql.onDialectOrElse({ pg: () => true, orElse: () => false })
    // the clients of `@effect/sql-pg` tell their pool's occupancy (a client of one connection says max 1)
    this.poolStats = PG_CLIENT in sql ? (sql as unknown as PgClient.PgClient).poolStats : undefined
    this.dedicated =
      !pg || wanted === false ? "never" : this.poolStats !== undefined ? "spare" : wanted === true ? "always" : "never"
  }

  /**
   * Runs `body` in a transaction: committed if it succeeds, rolled back if it fails. `keep` tells the failures
   * after which the connection is still good (a deadlock's victim, rolled back by the server).
   */
  run<A>(
    body: Effect.Effect<A, SqlError.SqlError>,
    keep: (error: SqlError.SqlError) => boolean
  ): Effect.Effect<A, SqlError.SqlError> {
    if (this.dedicated === "never") return this.sql.withTransaction(body)
    if (this.reserved === undefined && this.poolStats !== undefined) {
      // the pool must keep a connection for everyone else once the writer holds one
      return Effect.flatMap(this.poolStats, (stats) =>
        stats.max - stats.used >= 2 ? this.dedicatedRun(body, keep) : this.sql.withTransaction(body)
      )
    }
    return this.dedicatedRun(body, keep)
  }

  private dedicatedRun<A>(
    body: Effect.Effect<A, SqlError.SqlError>,
    keep: (error: SqlError.SqlError) => boolean
  ): Effect.Effect<A, SqlError.SqlError> {
    const sql = this.sql
    const self = this
    return Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        let connection = yield* self.connection
        const control = (statement: string) => connection.executeUnprepared(statement, [], undefined)
        // a kept connection may have been closed while it waited (the server restarted, the socket broke):
        // nothing was sent on it yet, so the batch goes on on a new one, as it would from the pool
        const begun = yield* Effect.exit(control("BEGIN"))
        if (Exit.isFailure(begun)) {
          yield* self.release
          connection = yield* self.connection
          yield* Effect.onError(control("BEGIN"), () => self.release)
        }
        const exit = yield* Effect.exit(
          restore(body).pipe(
            // the body's statements run on this connection, inside this transaction
            Effect.provideService(sql.transactionService, [connection, 0] as const),
            Effect.andThen((value) => Effect.as(control("COMMIT"), value)),
            Effect.withSpan("sql.transaction")
          )
        )
        if (Exit.isSuccess(exit)) return exit.value
        const rolledBack = yield* Effect.exit(control("ROLLBACK"))
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")?.error
        if (Exit.isFailure(rolledBack) || error === undefined || !keep(error)) yield* self.release
        return yield* exit
      })
    )
  }

  /**
   * Reserves the batches' connection now (the storage's start), if they keep one and the pool can spare it even once
   * another user holds one of its connections for good later (Effect Cluster's shard locks): at least three free. A
   * first batch under traffic would find none to spare and queue in the pool. A failure to get one is left to the
   * next batch (it looks again, and fails typed if the database is unreachable).
   */
  get prepare(): Effect.Effect<void> {
    if (this.dedicated === "never" || this.reserved !== undefined) return Effect.void
    const reserve = Effect.ignore(this.connection)
    if (this.poolStats === undefined) return reserve
    return Effect.flatMap(this.poolStats, (stats) => (stats.max - stats.used >= 3 ? reserve : Effect.void))
  }

  /** Gives the reserved connection back to the pool (a later batch reserves another). */
  readonly release: Effect.Effect<void> = Effect.suspend(() => {
    const reserved = this.reserved
    this.reserved = undefined
    return reserved === undefined ? Effect.void : Scope.close(reserved.scope, Exit.void)
  })

  private readonly connection: Effect.Effect<SqlConnection.Connection, SqlError.SqlError> = Effect.suspend(() => {
    if (this.reserved !== undefined) return Effect.succeed(this.reserved.connection)
    const self = this
    return Effect.gen(function* () {
      const scope = yield* Scope.make()
      const connection = yield* Scope.provide(self.sql.reserve, scope).pipe(
        Effect.onError(() => Scope.close(scope, Exit.void))
      )
      self.reserved = { connection, scope }
      return connection
    })
  })
}
