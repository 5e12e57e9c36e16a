/**
 * `@effect/sql-pg`, imported when a PostgreSQL client or storage is first made, not with `@troupe/runtime`: a process
 * that keeps no state, or keeps it in SQLite, does not load the driver (about 0.15-0.2 s of CPU at each start).
 *
 * @example
 * ```ts
 * const layer = Layer.unwrap(Effect.map(pgClient, (PgClient) => PgClient.layer({ url })))
 * const isPg = PG_CLIENT in sql // made by @effect/sql-pg (loaded then)
 * ```
 */
import type * as Pg from "@effect/sql-pg"
import { Effect } from "effect"

/** `PgClient.TypeId` (held to the package's type): a `SqlClient` made by `@effect/sql-pg` has this key. */
export const PG_CLIENT: Pg.PgClient.TypeId = "~@effect/sql-pg/PgClient"

let loaded: Promise<typeof Pg> | undefined

/** The driver's `PgClient` module, imported once. */
export const pgClient: Effect.Effect<typeof Pg.PgClient> = Effect.promise(() => {
  loaded ??= import("@effect/sql-pg")
  return loaded
}).pipe(Effect.map((driver) => driver.PgClient))
