/**
 * What a write batch runs, in order: statements of their own ({@link Op}) and rows of multi-row statements
 * ({@link Row}), consecutive rows of one statement run as one call of it (see `rows.ts`); and what the writer does
 * when the database fails a batch: runs it again after a deadlock ({@link isVictim}), or write by write after a
 * refusal ({@link isRefusal}, {@link isolated}).
 */
import { Effect, Schedule } from "effect"
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

/**
 * Whether the database refused a statement for what it wrote (a constraint, a trigger, a permission, a statement it
 * does not take), rather than for the state of the connection or of other transactions: a batch failed so is run
 * again write by write ({@link isolated}), so that only the refused write fails.
 */
export const isRefusal = (error: SqlError.SqlError): boolean => refusals.has(error.reason._tag)

const refusals: ReadonlySet<string> = new Set([
  "UniqueViolation",
  "ConstraintError",
  "SqlSyntaxError",
  "AuthorizationError",
  "UnknownError"
])

/** A write's outcome in a batch run write by write: its result, or the refusal that rolled it back. */
export type Outcome<A> =
  | { readonly _tag: "Written"; readonly value: A }
  | { readonly _tag: "Refused"; readonly error: SqlError.SqlError }

/**
 * Runs `write` in a savepoint of the caller's transaction: if the database refuses it ({@link isRefusal}), what
 * it did is rolled back to the savepoint and the transaction goes on with the other writes; any other failure (the
 * connection, a deadlock) fails the whole transaction, as it would have.
 *
 * @example
 * ```ts
 * const outcome = yield* isolated(sql, sql`INSERT INTO t VALUES (1)`) // { _tag: "Refused", error } on a duplicate
 * ```
 */
export const isolated = <A>(
  sql: SqlClient.SqlClient,
  write: Effect.Effect<A, SqlError.SqlError>
): Effect.Effect<Outcome<A>, SqlError.SqlError> =>
  Effect.gen(function* () {
    yield* sql.unsafe("SAVEPOINT troupe_write")
    const outcome = yield* write.pipe(
      Effect.map((value): Outcome<A> => ({ _tag: "Written", value })),
      Effect.catchIf(isRefusal, (error) =>
        Effect.as(sql.unsafe("ROLLBACK TO SAVEPOINT troupe_write"), { _tag: "Refused", error } as Outcome<A>)
      )
    )
    yield* sql.unsafe("RELEASE SAVEPOINT troupe_write")
    return outcome
  })

/**
 * Whether the database rolled the batch back only to break a conflict with another transaction: PostgreSQL's
 * "deadlock detected" (40P01) and serialization failure (40001). Two runners' batches can write the same rows in
 * opposite orders while a shard changes hands (the old owner's last batch and the new owner's first store the
 * same redelivered messages and states), and PostgreSQL aborts one of them; its documented answer is to run the
 * transaction again, which is safe here: nothing of it was committed, and its statements are written to be run
 * again (`ON CONFLICT DO NOTHING`, revision checks).
 */
export const isVictim = (error: SqlError.SqlError): boolean =>
  error.reason._tag === "DeadlockError" || error.reason._tag === "SerializationError"

/** How a victim batch is run again: after 10 ms, doubling up to 1 s apart, jittered (so the two do not meet again); 8 times at most. */
export const victimRetry = Schedule.max([
  Schedule.jittered(Schedule.min([Schedule.exponential("10 millis"), Schedule.spaced("1 second")])),
  Schedule.recurs(8)
])
