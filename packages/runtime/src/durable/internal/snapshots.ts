/**
 * The states of a write batch, written with a few multi-row statements: the new ones in one
 * `INSERT ... ON CONFLICT DO NOTHING`, the others in one `UPDATE ... FROM (VALUES ...)` that checks each one's
 * revision, and one read of the revisions found where a write was refused. The outcome of each state is the
 * one it had when each was written by a statement of its own, in order (see {@link writeStates}).
 */
import { Effect } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import { PersistenceConflict } from "./errors.ts"
import { chunks, maxParameters, valuesStatement } from "./rows.ts"

/** A state to write: what its instance last read or wrote (`revision`, 0 for nothing), and its JSON. */
export interface State {
  readonly persistenceId: string
  readonly revision: number
  readonly version: number
  readonly json: string
}

/**
 * Writes `states` (in one transaction, the caller's) and tells for each whether it was refused: another
 * instance wrote its persistence id since its revision was read (`PersistenceConflict`, with the revision
 * found then). A persistence id that appears twice is written in order, the second time after the first.
 *
 * @example
 * ```ts
 * const conflicts = yield* writeStates(sql, [{ persistenceId: "counter", revision: 0, version: 1, json: "0" }], Date.now())
 * ```
 */
export const writeStates = (
  sql: SqlClient.SqlClient,
  states: ReadonlyArray<State>,
  now: number
): Effect.Effect<Array<PersistenceConflict | undefined>, SqlError.SqlError> =>
  Effect.gen(function* () {
    const conflicts: Array<PersistenceConflict | undefined> = new Array(states.length).fill(undefined)
    // a round holds each persistence id once (a second write of one waits for the next round)
    let start = 0
    while (start < states.length) {
      const ids = new Set<string>()
      let end = start
      while (end < states.length && !ids.has(states[end]!.persistenceId)) ids.add(states[end++]!.persistenceId)
      const round = states.slice(start, end)
      const refused = yield* writeRound(sql, round, now)
      for (const [i, found] of refused) {
        const state = round[i]!
        conflicts[start + i] = new PersistenceConflict({
          persistenceId: state.persistenceId,
          expected: state.revision,
          found
        })
      }
      start = end
    }
    return conflicts
  })

/** Writes states of distinct persistence ids; answers the refused ones (by index) with the revision found. */
const writeRound = (sql: SqlClient.SqlClient, states: ReadonlyArray<State>, now: number) =>
  Effect.gen(function* () {
    const limit = maxParameters(sql)
    const written = new Set<string>()
    const inserts = states.filter((s) => s.revision === 0)
    for (const chunk of chunks(inserts, 5, 0, limit)) {
      const rows = yield* sql<{ persistence_id: string }>`INSERT INTO troupe_snapshots ${sql.insert(
        chunk.map((s) => ({
          persistence_id: s.persistenceId,
          revision: 1,
          version: s.version,
          state: s.json,
          updated_at: now
        })) as never
      )} ON CONFLICT (persistence_id) DO NOTHING RETURNING persistence_id`
      for (const row of rows) written.add(row.persistence_id)
    }
    const updates = states.filter((s) => s.revision !== 0)
    for (const chunk of chunks(updates, 4, 1, limit)) {
      const rows = yield* valuesStatement<{ persistence_id: string }>(
        sql,
        chunk.map((s) => [s.persistenceId, s.revision, s.version, s.json]),
        ["TEXT", "BIGINT", "INTEGER", "TEXT"],
        [now],
        (values, next) => `WITH v(persistence_id, revision, version, state) AS (VALUES ${values})
          UPDATE troupe_snapshots SET revision = troupe_snapshots.revision + 1, version = v.version, state = v.state,
            updated_at = ${next()}
          FROM v WHERE troupe_snapshots.persistence_id = v.persistence_id AND troupe_snapshots.revision = v.revision
          RETURNING troupe_snapshots.persistence_id`
      )
      for (const row of rows) written.add(row.persistence_id)
    }
    const refused = new Map<number, number>()
    const missing = states.flatMap((s, i) => (written.has(s.persistenceId) ? [] : [i]))
    if (missing.length === 0) return refused
    const found = new Map<string, number>()
    for (const chunk of chunks(missing, 1, 0, limit)) {
      const rows = yield* sql<{
        persistence_id: string
        revision: number | string
      }>`SELECT persistence_id, revision FROM troupe_snapshots WHERE persistence_id IN ${sql.in(
        chunk.map((i) => states[i]!.persistenceId)
      )}`
      for (const row of rows) found.set(row.persistence_id, Number(row.revision))
    }
    for (const i of missing) refused.set(i, found.get(states[i]!.persistenceId) ?? 0)
    return refused
  })
