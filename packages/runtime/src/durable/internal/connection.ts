/**
 * The write batches' own connection on PostgreSQL. A runner's pool (10 connections by default) is shared by
 * every read of its actors (an inbox read per poke) and by Effect Cluster's own statements: under a backlog
 * thousands of them wait in the pool's queue, and a batch that took its connection from the pool waited behind
 * them (up to 20 s of a 24 s batch at load 38, Runners.test.ts), while every waiter of the batch waited for it.
 * The writer reserves one connection of the pool for itself instead, and runs each batch's transaction on it.
 *
 * A batch that fails for another reason than a deadlock or serialization failure gives its connection back (it
 * may be broken: the server restarted, the socket closed); the next batch reserves a new one. A kept connection
 * that fails the `BEGIN` of a batch (closed while it was idle) is given back and the batch begins on a new one. On SQLite (one
 * connection, statements serialised) batches run with the client's own transactions.
 */
import { Effect, Exit, Scope } from "effect"
import type { SqlClient, SqlConnection, SqlError } from "effect/sql"

/**
 * Runs write batches in transactions, on a connection of their own on PostgreSQL.
 *
 * @example
 * ```ts
 * const transactions = new Transactions(sql, true)
 * yield* transactions.run(sql`INSERT INTO t VALUES (1)`, isVictim)
 * yield* transactions.release // when the storage closes
 * ```
 */
export class Transactions {
  private readonly sql: SqlClient.SqlClient
  private readonly dedicated: boolean
  private reserved: { readonly connection: SqlConnection.Connection; readonly scope: Scope.Closeable } | undefined

  /** `dedicated`: whether batches keep a connection of their own (PostgreSQL only). */
  constructor(sql: SqlClient.SqlClient, dedicated: boolean) {
    this.sql = sql
    this.dedicated = dedicated && sql.onDialectOrElse({ pg: () => true, orElse: () => false })
  }

  /**
   * Runs `body` in a transaction: committed if it succeeds, rolled back if it fails. `keep` tells the failures
   * after which the connection is still good (a deadlock's victim, rolled back by the server).
   */
  run<A>(
    body: Effect.Effect<A, SqlError.SqlError>,
    keep: (error: SqlError.SqlError) => boolean
  ): Effect.Effect<A, SqlError.SqlError> {
    if (!this.dedicated) return this.sql.withTransaction(body)
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
