/**
 * Troupe's tables, created and migrated by `effect/sql`'s Migrator (recorded in `troupe_migrations`), the
 * same on SQLite and PostgreSQL. A database already migrated past what this version knows is refused
 * ({@link StorageTooNew}) before anything is written.
 *
 * - `troupe_snapshots`: the state of each durable actor, by persistence id, with a revision that every write
 *   checks and increments (two live writers of one id are caught), and the state's schema version.
 * - `troupe_journal`: ordered entries per persistence id (a durable agent's model and tool results).
 * - `troupe_inbox`: durable messages by recipient and message id: pending until handled, then kept with their
 *   reply so that a message sent again is recognised and answered, not handled twice.
 * - `troupe_sessions`, `troupe_session_roles`, `troupe_session_log` (version 2): durable sessions: each
 *   session's protocol, bindings and outcome; each role's node, path and result; and the session's log, the
 *   messages each role sent (with their payloads) and the results of its `once` effects.
 * - `troupe_nodes` (version 3): which process holds each node name on this storage (see `nodeClaim.ts`): its
 *   epoch (one more per takeover), the claim's token, who the holder is, its last heartbeat, and whether it gave
 *   the name up. Every write batch of a holder checks its token in its transaction.
 */
import { Effect } from "effect"
import { Migrator, SqlClient, SqlError } from "effect/sql"
import { fromSqlError, type StorageCorrupt, StorageTooNew, type StorageUnavailable } from "./errors.ts"

const table = "troupe_migrations"

const actors = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE troupe_snapshots (
    persistence_id TEXT PRIMARY KEY,
    revision BIGINT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL
  )`
  yield* sql`CREATE TABLE troupe_journal (
    persistence_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (persistence_id, seq)
  )`
  yield* sql.onDialectOrElse({
    pg: () => sql`CREATE TABLE troupe_inbox (
      seq BIGSERIAL PRIMARY KEY,
      recipient TEXT NOT NULL,
      message_id TEXT NOT NULL,
      message TEXT NOT NULL,
      handled INTEGER NOT NULL,
      reply TEXT,
      created_at BIGINT NOT NULL,
      UNIQUE (recipient, message_id)
    )`,
    orElse: () => sql`CREATE TABLE troupe_inbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      recipient TEXT NOT NULL,
      message_id TEXT NOT NULL,
      message TEXT NOT NULL,
      handled INTEGER NOT NULL,
      reply TEXT,
      created_at BIGINT NOT NULL,
      UNIQUE (recipient, message_id)
    )`
  })
  yield* sql`CREATE INDEX troupe_inbox_pending ON troupe_inbox (recipient, handled, seq)`
})

const sessions = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE troupe_sessions (
    session TEXT PRIMARY KEY,
    protocol TEXT NOT NULL,
    node TEXT NOT NULL,
    spec TEXT NOT NULL,
    begun INTEGER NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    updated_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX troupe_sessions_node ON troupe_sessions (node, status)`
  yield* sql`CREATE TABLE troupe_session_roles (
    session TEXT NOT NULL,
    role TEXT NOT NULL,
    node TEXT NOT NULL,
    path TEXT NOT NULL,
    done INTEGER NOT NULL,
    result TEXT,
    trace TEXT,
    PRIMARY KEY (session, role)
  )`
  yield* sql`CREATE TABLE troupe_session_log (
    session TEXT NOT NULL,
    role TEXT NOT NULL,
    kind TEXT NOT NULL,
    peer TEXT NOT NULL,
    seq BIGINT NOT NULL,
    label TEXT NOT NULL,
    payload TEXT,
    PRIMARY KEY (session, role, kind, peer, seq)
  )`
  yield* sql`CREATE INDEX troupe_session_log_to ON troupe_session_log (session, peer, kind)`
})

const nodes = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE troupe_nodes (
    node TEXT PRIMARY KEY,
    epoch BIGINT NOT NULL,
    token TEXT NOT NULL,
    holder TEXT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    released INTEGER NOT NULL
  )`
})

/** Every migration, by id; the last id is the storage schema version of this Troupe. */
export const migrations = {
  "1_durable_actors": actors,
  "2_durable_sessions": sessions,
  "3_node_claims": nodes
} satisfies Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>>

export const latest = Math.max(...Object.keys(migrations).map((key) => Number.parseInt(key, 10)))

const tableExists = (sql: SqlClient.SqlClient, name: string) =>
  sql.onDialectOrElse({
    pg: () => sql<{ found: number }>`SELECT 1 AS found WHERE to_regclass(${name}) IS NOT NULL`,
    orElse: () => sql<{ found: number }>`SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ${name}`
  })

/** The storage schema version of the database (0 when Troupe never migrated it). */
export const version = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    if ((yield* tableExists(sql, table)).length === 0) return 0
    const rows = yield* sql<{ v: number | string | null }>`SELECT MAX(migration_id) AS v FROM ${sql(table)}`
    return Number(rows[0]?.v ?? 0)
  })

/** Migrates the database to {@link latest}, or refuses one migrated by a newer Troupe. */
export const migrate = (
  location: string
): Effect.Effect<void, StorageTooNew | StorageUnavailable | StorageCorrupt, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const found = yield* version(sql)
    if (found > latest) return yield* new StorageTooNew({ found, known: latest })
    if (found === latest) return
    yield* Migrator.make({})({ loader: Migrator.fromRecord(migrations), table })
  }).pipe(
    Effect.catchTag("SqlError", (error) => Effect.fail(fromSqlError(error, "migration", undefined, location))),
    Effect.catchTag("MigrationError", (error) =>
      SqlError.isSqlError(error.cause)
        ? Effect.fail(fromSqlError(error.cause, `migration (${error.message})`, undefined, location))
        : Effect.die(new Error(`Troupe's storage migration failed: ${error.message}`, { cause: error.cause }))
    )
  )
