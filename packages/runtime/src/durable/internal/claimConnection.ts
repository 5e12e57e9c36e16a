/**
 * The node claims' own connection on PostgreSQL. A holder's heartbeat says it is alive to a successor on another
 * host, which takes the name over once the heartbeat stood still for the lease: a heartbeat that took its connection
 * from the storage's pool waited in the pool's queue whenever the pool was busy (long batches, many sessions, a slow
 * server), stood still, and a successor took a healthy node's name over. The claims (the claim, the heartbeat, the
 * release) run on a client of their own instead: a pool of one connection to the same database, made from the
 * storage's client's settings, which opens its connection again once the server or the network cut it (a beat that
 * fails is lost, and the lease's semantics stay: a holder that cannot beat for the lease is taken over, and its next
 * write finds it fenced). Its connection is named `<applicationName> (troupe node claims)` on the server.
 *
 * A client that does not tell its settings (not made by `@effect/sql-pg`) is used as it is, and SQLite needs none:
 * its one connection serialises every statement, and a holder on a SQLite file is on this host, known alive or
 * dead by its process (`holder.ts`), not by its heartbeat.
 *
 * @example
 * ```ts
 * const claimsSql = yield* claimClient(sql) // with the storage's scope: closed with it
 * const claims = new NodeClaims({ sql: claimsSql, location, leaseMillis, fork })
 * ```
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, type Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import type { SqlClient, SqlError } from "effect/sql"

/** A client of one connection of its own for the node claims (PostgreSQL), or `sql` itself. */
export const claimClient = (
  sql: SqlClient.SqlClient
): Effect.Effect<SqlClient.SqlClient, SqlError.SqlError, Scope.Scope> => {
  if (!(PgClient.TypeId in sql)) return Effect.succeed(sql)
  const config = (sql as unknown as PgClient.PgClient).config as PgClient.PgPoolConfig
  return PgClient.make({
    ...config,
    applicationName: `${config.applicationName ?? "troupe"} (troupe node claims)`,
    // one connection, opened at the first claim (a beat every third of the lease keeps it in use)
    maxConnections: 1,
    minConnections: 0
  }).pipe(Effect.provide(Reactivity.layer))
}
