/**
 * What durable sessions keep in storage (schema version 2):
 *
 * - the session (`troupe_sessions`): its protocol, the node of its coordinator, its spec (who plays each role,
 *   step timeouts, the deadline for absent nodes), whether it began, and at the end its status and outcome;
 * - its roles (`troupe_session_roles`): each role's node and path, and, once it completed, its result;
 * - its log (`troupe_session_log`): what each role sent, its `once` results and its abort (see `sessionLog.ts`).
 *
 * A role's completion is committed before it counts, together with every send written before it.
 */
import { Effect, Option } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import type { StorageError } from "./errors.ts"
import { decoding, readJson, readSpec } from "./sessionColumns.ts"
import { type Failed, SessionLog } from "./sessionLog.ts"
import type { Writer } from "./writer.ts"

/** Who plays a role: its node and path. */
export interface Binding {
  readonly node: string
  readonly path: string
}

/** A session as stored. */
export interface SessionRecord {
  readonly session: string
  readonly protocol: string
  /** The node of its coordinator. */
  readonly node: string
  readonly spec: SessionSpec
  readonly begun: boolean
  readonly status: "running" | "completed" | "aborted"
  readonly outcome: unknown
}

/** How a durable session runs. */
export interface SessionSpec {
  readonly roles: Readonly<Record<string, Binding>>
  readonly stepTimeoutMillis: Readonly<Record<string, number>>
  readonly traceLimit: number
  readonly deadlineMillis: number
}

/** A row of `troupe_sessions`, as read. */
interface SessionRow {
  readonly session: string
  readonly protocol: string
  readonly node: string
  readonly spec: string
  readonly begun: number | string
  readonly status: SessionRecord["status"]
  readonly outcome: string | null
}

/**
 * The sessions of one storage, their roles and their log (see `SessionLog`).
 *
 * @example
 * // const store = sessionStore(sql, writer, failed); yield* store.session(id) // Option of the SessionRecord
 */
export class SessionStore extends SessionLog {
  /** A session's row, decoded (its spec with its schema). */
  private readonly toRecord = (row: SessionRow): SessionRecord => {
    const where = `the durable session ${JSON.stringify(row.session)}`
    return {
      session: row.session,
      protocol: row.protocol,
      node: row.node,
      spec: readSpec(row.spec, `the spec of ${where}`, this.writer.location),
      begun: Number(row.begun) === 1,
      status: row.status,
      outcome: row.outcome === null ? undefined : readJson(row.outcome, `the outcome of ${where}`, this.writer.location)
    }
  }

  /** Commits that a role completed with `result` (and every send written before it). */
  commitDone(session: string, role: string, result: string, trace: string): Effect.Effect<void, StorageError> {
    return this.withSends(
      session,
      (sql) =>
        sql`UPDATE troupe_session_roles SET done = 1, result = ${result}, trace = ${trace}
            WHERE session = ${session} AND role = ${role}`
    )
  }

  /** Commits a new session and its roles. */
  create(record: Omit<SessionRecord, "outcome" | "begun" | "status">): Effect.Effect<void, StorageError> {
    return this.writer.run((sql) =>
      Effect.andThen(
        sql`INSERT INTO troupe_sessions ${sql.insert({
          session: record.session,
          protocol: record.protocol,
          node: record.node,
          spec: JSON.stringify(record.spec),
          begun: 0,
          status: "running",
          outcome: null,
          updated_at: Date.now()
        })}`,
        sql`INSERT INTO troupe_session_roles ${sql.insert(
          Object.entries(record.spec.roles).map(([role, binding]) => ({
            session: record.session,
            role,
            node: binding.node,
            path: binding.path,
            done: 0,
            result: null,
            trace: null
          })) as never
        )}`
      )
    )
  }

  /** Commits that the session began (every role joined). */
  begin(session: string): Effect.Effect<void, StorageError> {
    return this.writer.run((sql) => sql`UPDATE troupe_sessions SET begun = 1 WHERE session = ${session}`)
  }

  /**
   * Commits the session's end, unless one is stored already: the first end stored is the session's (two incarnations
   * of a sharded session's coordinator may both end it, the old one stopping while the new one starts).
   */
  finish(session: string, status: "completed" | "aborted", outcome: unknown): Effect.Effect<void, StorageError> {
    const json = JSON.stringify(outcome)
    return this.writer.run(
      (sql) =>
        sql`UPDATE troupe_sessions SET status = ${status}, outcome = ${json}, updated_at = ${Date.now()}
            WHERE session = ${session} AND status = 'running'`
    )
  }

  /** The session, if it is stored. */
  session(session: string): Effect.Effect<Option.Option<SessionRecord>, StorageError> {
    return this
      .sql<SessionRow>`SELECT session, protocol, node, spec, begun, status, outcome FROM troupe_sessions WHERE session = ${session}`.pipe(
      Effect.mapError(this.failed("session read", `session ${session}`)),
      Effect.flatMap((rows) => decoding(() => Option.map(Option.fromUndefinedOr(rows[0]), this.toRecord)))
    )
  }

  /**
   * Which of `sessions` began or ended (or are not stored), in one read: a sharded session's starter holds its place
   * among the sessions joining until its session began (see `cluster/internal/beginWatch.ts`).
   */
  begunOrGone(sessions: ReadonlyArray<string>): Effect.Effect<ReadonlySet<string>, StorageError> {
    if (sessions.length === 0) return Effect.succeed(new Set())
    return this.sql<{ session: string }>`SELECT session FROM troupe_sessions
       WHERE session IN ${this.sql.in(sessions)} AND begun = 0 AND status = 'running'`.pipe(
      Effect.mapError(this.failed("session read")),
      Effect.map((rows) => {
        const joining = new Set(rows.map((r) => r.session))
        return new Set(sessions.filter((s) => !joining.has(s)))
      })
    )
  }

  /** The sessions coordinated by `node` that have not ended. */
  running(node: string): Effect.Effect<ReadonlyArray<SessionRecord>, StorageError> {
    return this.sql<SessionRow>`SELECT session, protocol, node, spec, begun, status, outcome FROM troupe_sessions
       WHERE node = ${node} AND status = 'running' ORDER BY session`.pipe(
      Effect.mapError(this.failed("session read")),
      Effect.flatMap((rows) => decoding(() => rows.map(this.toRecord)))
    )
  }

  /** The results of the completed roles of every session coordinated by `node` that has not ended. */
  runningResults(node: string): Effect.Effect<ReadonlyMap<string, ReadonlyMap<string, RoleResult>>, StorageError> {
    return this.results(this.sql<ResultRow>`SELECT r.session, r.role, r.result, r.trace FROM troupe_session_roles r
       JOIN troupe_sessions s ON s.session = r.session
       WHERE s.node = ${node} AND s.status = 'running' AND r.done = 1`)
  }

  /** The results of the completed roles of one session. */
  resultsOf(session: string): Effect.Effect<ReadonlyMap<string, RoleResult>, StorageError> {
    return this.results(this.sql<ResultRow>`SELECT session, role, result, trace FROM troupe_session_roles
       WHERE session = ${session} AND done = 1`).pipe(Effect.map((bySession) => bySession.get(session) ?? new Map()))
  }

  private results(
    query: Effect.Effect<ReadonlyArray<ResultRow>, SqlError.SqlError>
  ): Effect.Effect<ReadonlyMap<string, ReadonlyMap<string, RoleResult>>, StorageError> {
    return query.pipe(
      Effect.mapError(this.failed("session read")),
      Effect.flatMap((rows) =>
        decoding(() => {
          const out = new Map<string, Map<string, RoleResult>>()
          for (const r of rows) {
            let roles = out.get(r.session)
            if (roles === undefined) out.set(r.session, (roles = new Map()))
            const where = `the result of role ${r.role} in the durable session ${JSON.stringify(r.session)}`
            roles.set(r.role, {
              result: readJson(r.result ?? "null", where, this.writer.location),
              trace: readJson(r.trace ?? "[]", `the trace of ${where.slice(4)}`, this.writer.location)
            })
          }
          return out
        })
      )
    )
  }
}

/** A completed role's result and trace, as stored. */
export interface RoleResult {
  readonly result: unknown
  readonly trace: unknown
}

interface ResultRow {
  readonly session: string
  readonly role: string
  readonly result: string | null
  readonly trace: string | null
}

const stores = new WeakMap<Writer, SessionStore>()

/** The session store of a storage (one per storage). */
export const sessionStore = (sql: SqlClient.SqlClient, writer: Writer, failed: Failed): SessionStore => {
  let store = stores.get(writer)
  if (store === undefined) {
    store = new SessionStore(sql, writer, failed)
    stores.set(writer, store)
  }
  return store
}
