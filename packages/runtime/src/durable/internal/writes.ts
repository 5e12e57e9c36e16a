/**
 * What a write batch runs, in order: statements of their own ({@link Op}) and rows of multi-row statements
 * ({@link Row}), consecutive rows of one statement run as one call of it (see `rows.ts`).
 */
import { Effect } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import type { Merged } from "./rows.ts"

/** A statement run in a batch's transaction. */
export type Op<A = unknown> = (sql: SqlClient.SqlClient) => Effect.Effect<A, SqlError.SqlError>

/** A row of a multi-row statement: the batch runs consecutive rows of one statement together. */
export interface Row {
  readonly merged: Merged<never, unknown>
  readonly row: unknown
}

/** What a batch runs: a statement of its own, or a row of a multi-row statement. */
export type Write = Op | Row

/** A row of `merged`, to queue as a {@link Write}. */
export const rowOf = <R>(merged: Merged<R, unknown>, value: R): Row => ({
  merged: merged as Merged<never, unknown>,
  row: value
})

/**
 * Runs `writes` in order, each run of consecutive rows of one multi-row statement as one call of it; answers
 * each write's result.
 */
export const runWrites = (
  sql: SqlClient.SqlClient,
  writes: ReadonlyArray<Write>
): Effect.Effect<Array<unknown>, SqlError.SqlError> =>
  Effect.gen(function* () {
    const results: Array<unknown> = []
    let i = 0
    while (i < writes.length) {
      const write = writes[i]!
      if (typeof write === "function") {
        results.push(yield* write(sql))
        i++
        continue
      }
      let end = i + 1
      while (end < writes.length) {
        const next = writes[end]!
        if (typeof next === "function" || next.merged !== write.merged) break
        end++
      }
      const rows: ReadonlyArray<unknown> = writes.slice(i, end).map((w) => (w as Row).row)
      const answers = yield* write.merged.run(sql, rows as unknown as ReadonlyArray<never>)
      if (answers.length !== rows.length) {
        return yield* Effect.die(
          new Error(`the multi-row statement ${write.merged.name} answered ${answers.length} rows for ${rows.length}`)
        )
      }
      results.push(...answers)
      i = end
    }
    return results
  })
