/**
 * A write batch's body, run in its transaction (see `writer.ts`): all of it at once ({@link allAtOnce}), or, after
 * the database refused one of its writes, write by write, each in a savepoint ({@link oneByOne}: an actor's state
 * with its statements is one write, the loose writes of a unit are one write), so that only the refused writes fail.
 * Both can run more than once (a deadlock victim is run again): each try starts from the batch as it was taken.
 */
import { Effect } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import type { NodeFenced } from "./errors.ts"
import type { Fence } from "./nodeClaim.ts"
import { type State, writeStates } from "./snapshots.ts"
import type { Loose, Written } from "./tracked.ts"
import { type Calls, type Expanded, gathered, isolated, type Outcome, runWrites } from "./writes.ts"

/** A batch as its writer took it, and where its tries note what they did. */
export interface Batch {
  readonly sql: SqlClient.SqlClient
  /** Where the tries count their statement calls. */
  readonly calls: Calls
  /** When the batch started: the time its states are written with. */
  readonly now: number
  /** The states that encoded (their `conflict` is set by each try). */
  readonly states: ReadonlyArray<Written>
  readonly loose: ReadonlyArray<Loose>
  /** Each loose write with the rows it gathered (taken once, when the batch started). */
  readonly expanded: ReadonlyArray<Expanded>
  /** How many tries ran, and when the last one's transaction began and its statements were done (for the batch's log). */
  readonly tries: { count: number; began: number; ran: number }
}

/**
 * What a try of a batch gives: each loose write's outcome, and the states the database refused (write by write only);
 * or, when the storage lost its node name (see `nodeClaim.ts`), that, and nothing of the batch was written.
 */
export interface Tried {
  readonly results: ReadonlyArray<Outcome<unknown>>
  readonly refused: ReadonlyMap<Written, SqlError.SqlError> | undefined
  readonly lost?: NodeFenced
}

/**
 * The batch's body after the fence's check, in the same transaction: a storage that lost its node name writes
 * nothing of the batch (see `nodeClaim.ts`). Without a fence, the body alone.
 *
 * @example
 * ```ts
 * const tried = yield* transactions.run(fenced(fence, allAtOnce(batch)), isRefusal)
 * ```
 */
export const fenced = (
  fence: Fence | undefined,
  body: Effect.Effect<Tried, SqlError.SqlError>
): Effect.Effect<Tried, SqlError.SqlError> =>
  fence === undefined
    ? body
    : Effect.flatMap(
        Effect.suspend(() => fence.check),
        (lost): Effect.Effect<Tried, SqlError.SqlError> =>
          lost === undefined ? body : Effect.succeed({ results: [], refused: undefined, lost })
      )

/**
 * The whole batch in the caller's transaction: every state (a state another instance wrote meanwhile is left out
 * with its statements, and gets its `conflict`), then the statements tied to the states written, then every
 * gathered row (one call of each statement) and each loose write's own statement.
 *
 * @example
 * ```ts
 * const tried = yield* transactions.run(allAtOnce(batch), isRefusal)
 * ```
 */
export const allAtOnce = (batch: Batch): Effect.Effect<Tried, SqlError.SqlError> =>
  Effect.gen(function* () {
    const { sql, calls, states, tries } = batch
    tries.count++
    tries.began = Date.now()
    const conflicts = yield* writeStates(sql, states.map(stateOf), batch.now)
    // an earlier try's conflicts were rolled back with it
    for (let i = 0; i < states.length; i++) states[i]!.conflict = conflicts[i]
    // the statements tied to each state written, in order, after all the states (they touch other tables)
    yield* runWrites(
      sql,
      states.flatMap((w) => (w.conflict === undefined ? w.ops : [])),
      calls
    )
    // every gathered row first (one call of each statement), then each loose write's own
    const { writes, first } = gathered(batch.expanded)
    const results = (yield* runWrites(sql, writes, calls)).slice(first)
    tries.ran = Date.now()
    return { results: results.map((value): Outcome<unknown> => ({ _tag: "Written", value })), refused: undefined }
  })

/**
 * The batch again, write by write, each in a savepoint of the caller's transaction: each state with its
 * statements, then each loose write on its own, or the loose writes of a unit together (where its first one was).
 * A refused write is rolled back to its savepoint and answered `Refused`; the others are written.
 *
 * @example
 * ```ts
 * const { results, refused } = yield* transactions.run(oneByOne(batch), isRefusal)
 * ```
 */
export const oneByOne = (batch: Batch): Effect.Effect<Tried, SqlError.SqlError> =>
  Effect.gen(function* () {
    const { sql, calls, states, loose, expanded, tries } = batch
    tries.count++
    tries.began = Date.now()
    const refused = new Map<Written, SqlError.SqlError>()
    for (const w of states) {
      const outcome = yield* isolated(
        sql,
        Effect.gen(function* () {
          const [conflict] = yield* writeStates(sql, [stateOf(w)], batch.now)
          if (conflict === undefined) yield* runWrites(sql, w.ops, calls)
          return conflict
        })
      )
      w.conflict = outcome._tag === "Written" ? outcome.value : undefined
      if (outcome._tag === "Refused") refused.set(w, outcome.error)
    }
    const results: Array<Outcome<unknown>> = new Array(loose.length)
    for (const unit of unitsOf(loose)) {
      const { writes, first } = gathered(unit.map((i) => expanded[i]!))
      const outcome = yield* isolated(
        sql,
        Effect.map(runWrites(sql, writes, calls), (results) => results.slice(first))
      )
      unit.forEach((i, k) => {
        results[i] = outcome._tag === "Written" ? { _tag: "Written", value: outcome.value[k] } : outcome
      })
    }
    tries.ran = Date.now()
    return { results, refused }
  })

const stateOf = (w: Written): State => ({
  persistenceId: w.tracked.persistenceId,
  revision: w.tracked.revision,
  version: w.tracked.version,
  json: w.json!
})

/** The loose writes' indexes by what commits together: a write without a unit on its own, a unit's writes where its first one was. */
const unitsOf = (loose: ReadonlyArray<Loose>): Array<Array<number>> => {
  const units: Array<Array<number>> = []
  const byUnit = new Map<string | object, Array<number>>()
  for (let i = 0; i < loose.length; i++) {
    const unit = loose[i]!.unit
    const together = unit === undefined ? undefined : byUnit.get(unit)
    if (together !== undefined) together.push(i)
    else {
      units.push([i])
      if (unit !== undefined) byUnit.set(unit, units.at(-1)!)
    }
  }
  return units
}
