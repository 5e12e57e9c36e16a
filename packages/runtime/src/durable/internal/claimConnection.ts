/**
 * The node claims' own connection on PostgreSQL. A holder's heartbeat says it is alive to a successor on another
 * host, which takes the name over once the heartbeat stood still for the lease: a heartbeat that took its connection
 * from the storage's pool waited in the pool's queue whenever the pool was busy (long batches, many sessions, a slow
 * server), stood still, and a successor took a healthy node's name over. The claims (the claim, the heartbeat, the
 * release) run on a connection of their own instead, to the same database, made from the storage's client's settings
 * (`PgClient.makeClient`), and named `<applicationName> (troupe node claims)` on the server.
 *
 * It is opened at the first statement, and given up after a statement that failed on it (the server restarted, the
 * network cut it): the next statement opens another. The failed statement is lost (a beat: the lease's semantics stay,
 * a holder that cannot beat for the lease is taken over and its next write finds it fenced). (A pool of one
 * connection, `PgClient.make`, did not do: after a connect that failed while the server was down, its next statement
 * waited for ever, and the holder never beat again: Failures.test.ts.)
 *
 * A client that does not tell its settings (not made by `@effect/sql-pg`) is used as it is, and SQLite needs none:
 * its one connection serialises every statement, and a holder on a SQLite file is on this host, known alive or
 * dead by its process (`holder.ts`), not by its heartbeat.
 *
 * @example
 * ```ts
 * const own = new ClaimConnection(sql)
 * yield* own.run((sql) => sql`UPDATE troupe_nodes SET heartbeat_at = ${Date.now()} WHERE node = 'n'`)
 * yield* own.close // with the storage
 * ```
 */
import type { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Scope, Semaphore } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import type { SqlClient, SqlError } from "effect/sql"
import { PG_CLIENT, pgClient } from "./pgDriver.ts"

export class ClaimConnection {
  private readonly sql: SqlClient.SqlClient
  private readonly config: PgClient.PgClientConfig | undefined
  private readonly opening = Semaphore.makeUnsafe(1)
  private current: { readonly client: SqlClient.SqlClient; readonly scope: Scope.Closeable } | undefined
  private closed = false

  /** `sql`: the storage's client, whose settings the connection is made with (or which is used, see above). */
  constructor(sql: SqlClient.SqlClient) {
    this.sql = sql
    this.config = PG_CLIENT in sql ? (sql as unknown as PgClient.PgClient).config : undefined
  }

  /** Runs `f` with the claims' client; a failure gives its connection up (the next run opens another). */
  run<A, E, R>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError.SqlError, R> {
    if (this.config === undefined) return f(this.sql)
    return Effect.flatMap(this.client, (client) => Effect.onError(f(client), () => this.drop(client)))
  }

  /** The claims' client now (opened if need be). */
  get client(): Effect.Effect<SqlClient.SqlClient, SqlError.SqlError> {
    const config = this.config
    if (config === undefined) return Effect.succeed(this.sql)
    return Effect.suspend(() => {
      if (this.current !== undefined) return Effect.succeed(this.current.client)
      return this.opening.withPermits(1)(
        Effect.suspend(() => {
          if (this.current !== undefined) return Effect.succeed(this.current.client)
          const self = this
          return Effect.gen(function* () {
            const scope = yield* Scope.make()
            const Pg = yield* pgClient
            const client = yield* Pg.makeClient({
              ...config,
              applicationName: `${config.applicationName ?? "troupe"} (troupe node claims)`
            }).pipe(
              Effect.provide(Reactivity.layer),
              Scope.provide(scope),
              Effect.onError(() => Scope.close(scope, Exit.void))
            )
            // closed meanwhile: this one goes at once
            if (self.closed) yield* Scope.close(scope, Exit.void)
            else self.current = { client, scope }
            return client
          })
        })
      )
    })
  }

  /** Closes the connection (the storage closes). */
  get close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closed = true
      const current = this.current
      this.current = undefined
      return current === undefined ? Effect.void : Scope.close(current.scope, Exit.void)
    })
  }

  private drop(client: SqlClient.SqlClient): Effect.Effect<void> {
    return Effect.suspend(() => {
      const current = this.current
      if (current === undefined || current.client !== client) return Effect.void
      this.current = undefined
      return Scope.close(current.scope, Exit.void)
    })
  }
}
