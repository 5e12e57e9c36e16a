/**
 * Multi-row statements: many writes of the same shape in one batch (durable messages stored, states written,
 * messages marked handled) run as a few statements of many rows each, instead of one round trip per row.
 *
 * A statement binds at most {@link maxParameters} values (PostgreSQL's wire protocol counts them in 16 bits;
 * SQLite refuses more than its `SQLITE_MAX_VARIABLE_NUMBER`), so rows are split into {@link chunks} under it.
 */
import type { Effect } from "effect"
import type { SqlClient, SqlError } from "effect/sql"

/**
 * A write that consecutive writes of one batch share one statement for: the writer gives `run` every row of
 * such a run, in the order they were queued, and `run` answers one result per row, in that order.
 *
 * @example
 * ```ts
 * const touch: Merged<string, void> = {
 *   name: "touch",
 *   run: (sql, ids) => Effect.as(sql`UPDATE t SET seen = 1 WHERE id IN ${sql.in(ids)}`, ids.map(() => undefined))
 * }
 * yield* writer.runRow(touch, "a")
 * ```
 */
export interface Merged<R, A> {
  /** What the statement writes, for messages. */
  readonly name: string
  readonly run: (sql: SqlClient.SqlClient, rows: ReadonlyArray<R>) => Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>
}

/**
 * The most values one statement binds on the database of `sql`: 65,535 on PostgreSQL (its protocol's limit),
 * 32,766 on SQLite (the default `SQLITE_MAX_VARIABLE_NUMBER` since SQLite 3.32, which `node:sqlite` keeps).
 */
export const maxParameters = (sql: SqlClient.SqlClient): number =>
  sql.onDialectOrElse({ pg: () => 65_535, orElse: () => 32_766 })

/**
 * `rows` in consecutive slices, each binding at most `limit` values at `perRow` values a row (plus `fixed`
 * values the statement binds once).
 *
 * @example
 * ```ts
 * chunks([1, 2, 3, 4, 5], 3, 0, 7) // [[1, 2], [3, 4], [5]]
 * ```
 */
export const chunks = <R>(
  rows: ReadonlyArray<R>,
  perRow: number,
  fixed: number,
  limit: number
): Array<ReadonlyArray<R>> => {
  const size = Math.max(1, Math.floor((limit - fixed) / perRow))
  const out: Array<ReadonlyArray<R>> = []
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size))
  return out
}

/**
 * A statement with a `VALUES` list of `rows`, for `WITH v(...) AS (VALUES ...)`: `build` gets the list's text
 * (placeholders of the database's dialect, each value cast to its column's type in `types`, so that PostgreSQL
 * compares them with the table's columns) and the placeholder of the first value after the list's (for
 * `extra`, values the statement binds once). Written out here rather than with nested `sql` fragments, which
 * overflow the stack past some ten thousand rows.
 *
 * @example
 * ```ts
 * valuesStatement(sql, [["a", 1]], ["TEXT", "BIGINT"], [], (values) => `WITH v(id, n) AS (VALUES ${values}) SELECT * FROM v`)
 * ```
 */
export const valuesStatement = <A extends object>(
  sql: SqlClient.SqlClient,
  rows: ReadonlyArray<ReadonlyArray<unknown>>,
  types: ReadonlyArray<string>,
  extra: ReadonlyArray<unknown>,
  build: (values: string, next: () => string) => string
) => {
  const pg = sql.onDialectOrElse({ pg: () => true, orElse: () => false })
  const params: Array<unknown> = []
  const placeholder = () => (pg ? `$${params.length}` : "?")
  const parts: Array<string> = []
  for (const row of rows) {
    const cells: Array<string> = []
    for (let i = 0; i < types.length; i++) {
      params.push(row[i])
      cells.push(`CAST(${placeholder()} AS ${types[i]})`)
    }
    parts.push(`(${cells.join(", ")})`)
  }
  let next = 0
  const text = build(parts.join(", "), () => {
    params.push(extra[next++])
    return placeholder()
  })
  return sql.unsafe<A>(text, params)
}

/** The key of a row of a table with a two-column key, for maps. */
export const pairKey = (a: string, b: string): string => `${a}\u0000${b}`
