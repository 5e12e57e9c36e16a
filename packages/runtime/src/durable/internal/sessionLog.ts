/**
 * A durable session's log (`troupe_session_log`, see `sessionStore.ts`): every message each role sent, in chunks
 * (one row per batch of messages from one role to one peer: its first number, and the messages as JSON
 * `[seq, label, payload]`), the result of each of its `once` effects, in order, and the cause of a role's abort (a
 * role that aborted the session does not resume it, even when its coordinator started again before it stored the
 * end); and a role's part of it read back when the role resumes.
 *
 * Sends are written behind (batched, nobody waits), since a role that crashes before they land sends them
 * again when it replays; a `once` result is committed before it counts, together with every send of its session
 * written before it. A batch that does not commit gives its sends back for the next one (they are never dropped while
 * their role lives: the role counts them as stored and does not write them again when it replays). Each session's
 * writes are on their own in a batch: a write of one session the database refuses fails none of another's.
 */
import { Effect } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import type { NodeFenced, StorageError } from "./errors.ts"
import { chunks, type Merged, maxParameters } from "./rows.ts"
import { decoding, readChunk, readJson } from "./sessionColumns.ts"
import type { Writer } from "./writer.ts"
import { noStatement, type Op } from "./writes.ts"

/** A message as the log keeps it: its number, its label, and its payload encoded as JSON. */
export type Logged = readonly [seq: number, label: string, payload: unknown]

/** A role's part of the log, read back when it resumes. */
export interface RoleLog {
  /** How many messages it sent to each peer. */
  readonly sent: ReadonlyMap<string, number>
  /** The messages it was sent, per sender, in order. */
  readonly inbound: ReadonlyMap<string, ReadonlyArray<Logged>>
  /** The results of its `once` effects, in order (JSON). */
  readonly onces: ReadonlyArray<unknown>
  /** Why the role aborted the session, if it did (JSON: the abort cause); it does not resume it then. */
  readonly aborted?: unknown
}

/** A row of the log, as written. */
interface Row {
  readonly session: string
  readonly role: string
  readonly kind: "send" | "once" | "abort"
  readonly peer: string
  readonly seq: number
  readonly label: string
  readonly payload: string | null
}

/** Messages from one role to one peer written since the last batch. */
interface Chunk {
  readonly session: string
  readonly role: string
  readonly peer: string
  readonly messages: Array<Logged>
}

/** How a failed query becomes a `StorageError` naming the operation (and what it read). */
export type Failed = (operation: string, id?: string) => (error: SqlError.SqlError) => StorageError

const keyOf = (session: string, role: string, peer: string) => `${session}\u0000${role}\u0000${peer}`

/** The writer's unit of a session's log writes (see `Writer.run`). */
const unitOf = (session: string) => `session log\u0000${session}`

/** The most rows one insert into the log writes (under every database's parameter limit at 7 values a row). */
const ROWS = 1000

/**
 * Rows of the log, inserted with a batch's other log rows (every session's sends and `once` results of a batch in one
 * statement, see `Writer.runGathered`); a row stored already is left as it is (a replay writes its sends again).
 */
const logRows: Merged<Row, void> = {
  name: "session log rows",
  run: (sql, rows) =>
    Effect.as(
      Effect.forEach(
        chunks(rows, 7, 0, Math.min(maxParameters(sql), 7 * ROWS)),
        (some) =>
          sql`INSERT INTO troupe_session_log ${sql.insert(some as never)} ON CONFLICT (session, role, kind, peer, seq) DO NOTHING`,
        { discard: true }
      ),
      rows.map(() => undefined)
    )
}

/** A chunk of sends as its row. */
const rowOfChunk = (c: Chunk): Row => ({
  session: c.session,
  role: c.role,
  kind: "send",
  peer: c.peer,
  seq: c.messages[0]![0],
  label: "",
  payload: JSON.stringify(c.messages)
})

/**
 * The log of the durable sessions of one storage (the session store is one, see `sessionStore.ts`).
 *
 * @example
 * // a role sends: store.appendSend(session, role, peer, [seq, label, payload]); it resumes: store.role(session, role)
 */
export class SessionLog {
  /** The sends written behind and not yet taken by a batch, per session. */
  private pending = new Map<string, Map<string, Chunk>>()
  private scheduled = false
  /**
   * The sessions with a log write queued whose batch has not started: that batch takes their sends, so a write behind
   * queues no other write for them (before, every send queued a write for every session with sends pending: 40
   * sessions sending twice queued 1,680 writes, and the writes other roles waited for went in later batches).
   */
  private queued = new Set<string>()
  /** How many batches with sends were refused in a row (the next write behind waits longer). */
  private refused = 0
  protected readonly sql: SqlClient.SqlClient
  protected readonly writer: Writer
  protected readonly failed: Failed

  constructor(sql: SqlClient.SqlClient, writer: Writer, failed: Failed) {
    this.sql = sql
    this.writer = writer
    this.failed = failed
  }

  /** The claim of the storage's node name that it lost (taken over by another process), if it lost one. */
  get lost(): NodeFenced | undefined {
    return this.writer.lost
  }

  /**
   * Runs `op` in a write batch together with the sends of `session` written so far (a row per chunk) and `entry` (a
   * row of the log), so that they commit with it or not at all. The rows are inserted with every other log row of the
   * batch, all sessions', in one statement (see `Writer.runGathered`). The sends are taken when the batch starts, once:
   * a batch the database runs again (a deadlock's victim, see `writer.ts`) writes the same sends again. A batch that did not commit (the database refused it: unreachable,
   * locked, full) gives them back, merged with those written since, for the next batch: a send written behind is
   * never dropped while its role lives, since the role counts it as stored and does not write it again when it
   * replays (a gap in the log would be a message its receiver never gets back when it resumes). A session's log
   * writes of a batch are one unit for the writer: when the database refuses a write of the batch and the others are
   * written without it, they commit together or not at all (a `once` result never without the sends an earlier write
   * of its batch took), and apart from every other session's (a refused row of one session fails no other's commit).
   */
  protected withSends<A>(
    session: string,
    op: Op<A>,
    entry?: Omit<Row, "session" | "label">
  ): Effect.Effect<A, StorageError> {
    return Effect.suspend(() => {
      let taken: ReadonlyArray<Chunk> | undefined
      this.queued.add(session)
      return this.writer
        .runGathered(
          logRows,
          () => {
            this.queued.delete(session)
            taken = this.take(session)
            const rows = taken.map(rowOfChunk)
            if (entry !== undefined) rows.push({ session, label: "", ...entry })
            return rows
          },
          op,
          unitOf(session)
        )
        .pipe(
          Effect.tap(() => Effect.sync(() => (this.refused = 0))),
          // (a typed failure only: the batch was rolled back; an interrupted waiter's batch may still commit)
          Effect.tapError(() =>
            Effect.sync(() => {
              if (taken === undefined || taken.length === 0) return
              this.giveBack(taken)
              this.refused++
              this.scheduleWrite()
            })
          )
        )
    })
  }

  /** The sends of `session` written so far, taken for a batch. */
  private take(session: string): ReadonlyArray<Chunk> {
    const chunks = this.pending.get(session)
    if (chunks === undefined) return []
    this.pending.delete(session)
    return [...chunks.values()]
  }

  /**
   * Sends whose batch did not commit go back with those written since, each chunk in order of number (two writes of
   * one failed batch may give back parts of one chunk, in either order).
   */
  private giveBack(chunks: ReadonlyArray<Chunk>): void {
    for (const c of chunks) {
      const key = keyOf(c.session, c.role, c.peer)
      const session = this.sessionPending(c.session)
      const pending = session.get(key)
      if (pending === undefined) {
        session.set(key, { ...c, messages: [...c.messages] })
        continue
      }
      const byNumber = new Map<number, Logged>()
      for (const m of c.messages) byNumber.set(m[0], m)
      for (const m of pending.messages) byNumber.set(m[0], m)
      session.set(key, { ...c, messages: [...byNumber.values()].sort((a, b) => a[0] - b[0]) })
    }
  }

  private sessionPending(session: string): Map<string, Chunk> {
    let chunks = this.pending.get(session)
    if (chunks === undefined) this.pending.set(session, (chunks = new Map()))
    return chunks
  }

  /** Writes a sent message behind: in the next batch, nobody waits. */
  appendSend(session: string, role: string, peer: string, message: Logged): void {
    const key = keyOf(session, role, peer)
    const chunks = this.sessionPending(session)
    const chunk = chunks.get(key)
    if (chunk === undefined) chunks.set(key, { session, role, peer, messages: [message] })
    else chunk.messages.push(message)
    this.scheduleWrite()
  }

  /**
   * A batch for the sends written behind, unless one is coming: at once, or after batches were refused, from 50 ms,
   * doubling, at most every 5 s (a warning logged each time), until they are written (or a role's commit took them).
   */
  private scheduleWrite(): void {
    if (this.scheduled) return
    this.scheduled = true
    const pause = this.refused === 0 ? 0 : Math.min(5000, 50 * 2 ** Math.min(this.refused - 1, 7))
    Effect.runFork(pause === 0 ? this.writeBehind : Effect.andThen(Effect.sleep(pause), this.writeBehind))
  }

  /** Writes the sends written behind (see {@link scheduleWrite}): each session's in a write of its own, one batch. */
  private readonly writeBehind: Effect.Effect<void> = Effect.suspend(() => {
    this.scheduled = false
    return Effect.forEach(
      [...this.pending.keys()].filter((session) => !this.queued.has(session)),
      (session) =>
        this.withSends(session, noStatement).pipe(
          Effect.catchCause((cause) =>
            Effect.logWarning("Could not write a durable session's messages; they are written again later", cause).pipe(
              Effect.annotateLogs({ session })
            )
          )
        ),
      { concurrency: "unbounded", discard: true }
    )
  })

  /** Commits the result of a role's `k`-th `once` effect (and every send written before it). */
  commitOnce(session: string, role: string, k: number, value: string): Effect.Effect<void, StorageError> {
    return this.commitEntry(session, role, "once", k, value)
  }

  /** Commits that a role aborted the session with `cause` (JSON; and every send written before it). */
  commitAbort(session: string, role: string, cause: string): Effect.Effect<void, StorageError> {
    return this.commitEntry(session, role, "abort", 0, cause)
  }

  /** Commits one entry of a role's log that is not a send (and every send written before it). */
  private commitEntry(
    session: string,
    role: string,
    kind: "once" | "abort",
    seq: number,
    payload: string
  ): Effect.Effect<void, StorageError> {
    return this.withSends(session, noStatement, { role, kind, peer: "", seq, payload })
  }

  /** A role's part of the log, in one read. */
  role(session: string, role: string): Effect.Effect<RoleLog, StorageError> {
    return this.sql<{
      role: string
      kind: string
      peer: string
      seq: number | string
      payload: string | null
    }>`SELECT role, kind, peer, seq, payload FROM troupe_session_log
       WHERE session = ${session} AND (role = ${role} OR (peer = ${role} AND kind = 'send'))
       ORDER BY role, kind, peer, seq`.pipe(
      Effect.mapError(this.failed("session log read", `session ${session}, role ${role}`)),
      Effect.flatMap((rows) =>
        decoding(() => {
          const sent = new Map<string, number>()
          const onces: Array<unknown> = []
          const inbound = new Map<string, Array<Logged>>()
          let aborted: unknown
          for (const row of rows) {
            if (row.kind === "abort") {
              const where = `the abort of role ${row.role} in the durable session ${JSON.stringify(session)}`
              aborted = readJson(row.payload ?? "null", where, this.writer.location)
              continue
            }
            if (row.kind === "once") {
              const where = `once result ${row.seq} of role ${row.role} in the durable session ${JSON.stringify(session)}`
              onces[Number(row.seq)] = readJson(row.payload ?? "null", where, this.writer.location)
              continue
            }
            const where = `the log of ${row.role} to ${row.peer} (from message ${row.seq}) in the durable session ${JSON.stringify(session)}`
            const messages = readChunk(row.payload ?? "[]", where, this.writer.location)
            if (row.role === role) {
              const last = messages.at(-1)?.[0] ?? 0
              sent.set(row.peer, Math.max(sent.get(row.peer) ?? 0, last))
            } else {
              // chunks in order of their first number; a number written twice (after a replay) counts once
              let list = inbound.get(row.role)
              if (list === undefined) inbound.set(row.role, (list = []))
              for (const m of messages) if (list.length === 0 || m[0] > list.at(-1)![0]) list.push(m)
            }
          }
          return aborted === undefined ? { sent, inbound, onces } : { sent, inbound, onces, aborted }
        })
      )
    )
  }

  /**
   * What `role` sent to `peer`, in order, if the role completed the session (its completion is committed with
   * every message it sent); `undefined` if it has not (or the session is not stored). One read.
   */
  sentByCompleted(
    session: string,
    role: string,
    peer: string
  ): Effect.Effect<ReadonlyArray<Logged> | undefined, StorageError> {
    return this.sql<{ done: number | string; seq: number | string | null; payload: string | null }>`
       SELECT r.done, l.seq, l.payload FROM troupe_session_roles r
       LEFT JOIN troupe_session_log l
         ON l.session = r.session AND l.role = r.role AND l.kind = 'send' AND l.peer = ${peer}
       WHERE r.session = ${session} AND r.role = ${role}
       ORDER BY l.seq`.pipe(
      Effect.mapError(this.failed("session log read", `session ${session}, role ${role}`)),
      Effect.flatMap((rows) =>
        decoding(() => {
          if (rows.length === 0 || Number(rows[0]!.done) !== 1) return undefined
          const sent: Array<Logged> = []
          for (const row of rows) {
            if (row.seq === null) continue // the role sent `peer` nothing
            const where = `the log of ${role} to ${peer} (from message ${row.seq}) in the durable session ${JSON.stringify(session)}`
            // chunks in order of their first number; a number written twice (after a replay) counts once
            for (const m of readChunk(row.payload ?? "[]", where, this.writer.location))
              if (sent.length === 0 || m[0] > sent.at(-1)![0]) sent.push(m)
          }
          return sent
        })
      )
    )
  }
}
