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

/** A write with no statement of its own (a {@link Gathered} write's `after` when its rows are all it writes). */
export const noStatement: Op<void> = () => Effect.void

/** A row of a multi-row statement: the batch runs consecutive rows of one statement together. */
export interface Row {
  readonly merged: Merged<never, unknown>
  readonly row: unknown
}

/** What a batch runs: a statement of its own, or a row of a multi-row statement. */
export type Write = Op | Row

/**
 * A write whose rows of a multi-row statement are taken when its batch starts (`take`, called once per batch: a batch
 * run again writes the same rows), then a statement of its own (`after`, its result the write's). A batch runs the
 * gathered rows of all its writes first, in one call of each statement (a few under the parameter limit), then their
 * statements in order: so the gathered statement must commute with every other write of a batch (an insert `ON
 * CONFLICT DO NOTHING` into a table no other write of a batch reads or deletes from, as the session log's rows).
 * Written write by write (a refused batch, see {@link isolated}), each unit runs its own rows, then its statements.
 */
export interface Gathered {
  readonly gather: Merged<never, unknown>
  readonly take: () => ReadonlyArray<unknown>
  readonly after: Op
}

/** What the writer queues: a {@link Write}, or a {@link Gathered} one (expanded into writes when its batch starts). */
export type Queued = Write | Gathered

/** A queued write as its batch runs it: the rows it gathered (none for a plain write), then its own write. */
export interface Expanded {
  readonly rows: ReadonlyArray<Row>
  readonly write: Write
}

/** Takes a queued write's gathered rows (when its batch starts: see {@link Gathered}). */
export const expand = (queued: Queued): Expanded => {
  if (typeof queued === "function" || !("gather" in queued)) return { rows: [], write: queued }
  const merged = queued.gather
  return { rows: queued.take().map((row) => ({ merged, row })), write: queued.after }
}

/**
 * The writes that run `expanded` as a batch does: every gathered row first, grouped by statement (so each statement
 * is one call), then each write's own; `first` is the index of the first write's own result.
 */
export const gathered = (expanded: ReadonlyArray<Expanded>): { writes: Array<Write>; first: number } => {
  const byStatement = new Map<Merged<never, unknown>, Array<Row>>()
  for (const e of expanded) {
    for (const row of e.rows) {
      const rows = byStatement.get(row.merged)
      if (rows === undefined) byStatement.set(row.merged, [row])
      else rows.push(row)
    }
  }
  const writes: Array<Write> = []
  for (const rows of byStatement.values()) writes.push(...rows)
  const first = writes.length
  for (const e of expanded) writes.push(e.write)
  return { writes, first }
}

/** A row of `merged`, to queue as a {@link Write}. */
export const rowOf = <R>(merged: Merged<R, unknown>, value: R): Row => ({
  merged: merged as Merged<never, unknown>,
  row: value
})

/**
 * How many statement calls the writer's batches made (a multi-row statement's call counts once), and how many loose
 * writes they took (see `Writer.run`), for measures and tests.
 */
export interface Calls {
  count: number
  writes: number
}

/**
 * Runs `writes` in order, each run of consecutive rows of one multi-row statement as one call of it; answers
 * each write's result. Counts the calls in `calls`.
 */
export const runWrites = (
  sql: SqlClient.SqlClient,
  writes: ReadonlyArray<Write>,
  calls?: Calls
): Effect.Effect<Array<unknown>, SqlError.SqlError> =>
  Effect.gen(function* () {
    const results: Array<unknown> = []
    let i = 0
    while (i < writes.length) {
      const write = writes[i]!
      if (typeof write === "function") {
        if (write !== noStatement && calls !== undefined) calls.count++
        results.push(yield* write(sql))
        i++
        continue
      }
      if (calls !== undefined) calls.count++
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
