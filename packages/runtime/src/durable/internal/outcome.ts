/**
 * What came of a write batch (see `writer.ts`), told to its waiters: a batch that committed ({@link committed}: each
 * actor's state written, in conflict or refused; each loose write's result), or one whose transaction failed
 * ({@link failed}: the connection, the server, or the storage's node name lost), which fails every waiter of it with
 * the typed error. An actor whose state did not commit is marked failed (its memory is ahead of the database).
 *
 * @example
 * ```ts
 * // once a batch's transaction ended:
 * Exit.isSuccess(exit) ? committed(batch, written, exit.value, refusal, callsBefore, location) : failed(written, loose, exit.cause, location)
 * ```
 */
import { Cause, Effect, Exit } from "effect"
import type { SqlError } from "effect/sql"
import type { Batch, Tried } from "./batch.ts"
import {
  describe,
  fromSqlError,
  type NodeFenced,
  StateNotEncodable,
  type StorageError,
  StorageUnavailable,
  type WriteError
} from "./errors.ts"
import type { Loose, Written } from "./tracked.ts"

/** Tells the waiters of a batch that committed (some of its writes refused or in conflict), and logs a slow or refused one. */
export const committed = (
  batch: Batch,
  written: ReadonlyArray<Written>,
  { results, refused }: Tried,
  refusal: SqlError.SqlError | undefined,
  callsBefore: number,
  location: string
): Effect.Effect<void> => {
  const { loose, now, tries } = batch
  const refusedError = (error: SqlError.SqlError, persistenceId?: string) =>
    fromSqlError(error, "write", persistenceId, location)
  for (const w of written) {
    const error = refused?.get(w)
    settle(w, error === undefined ? w.conflict : refusedError(error, w.tracked.persistenceId))
  }
  for (let i = 0; i < loose.length; i++) {
    const outcome = results[i]!
    loose[i]!.done(outcome._tag === "Written" ? Exit.succeed(outcome.value) : Exit.fail(refusedError(outcome.error)))
  }
  const refusedCount = (refused?.size ?? 0) + results.filter((r) => r._tag === "Refused").length
  const annotations = {
    millis: Date.now() - now,
    // waiting for a connection and BEGIN; the statements; COMMIT (and the wait for this fiber's turn)
    beginMillis: tries.began - now,
    statementsMillis: tries.ran - tries.began,
    commitMillis: Date.now() - tries.ran,
    tries: tries.count,
    states: written.length,
    // the loose writes, and the statement calls of their tries (the loose writes' and the states' statements, not the
    // states' own writes; a multi-row statement's call counts once)
    statements: loose.length,
    calls: batch.calls.count - callsBefore
  }
  if (refusal !== undefined)
    return Effect.logWarning(
      "The database refused a write of a batch: the batch was written again write by write, and only the refused writes failed"
    ).pipe(Effect.annotateLogs({ ...annotations, refused: refusedCount, error: refusedError(refusal).detail }))
  return tries.count > 1 || Date.now() - now > 1000
    ? Effect.logDebug("A slow storage write batch (or one written again after a deadlock)").pipe(
        Effect.annotateLogs(annotations)
      )
    : Effect.void
}

/** Fails every waiter of a batch whose transaction failed (the connection, the server) with the typed error. */
export const failed = (
  written: ReadonlyArray<Written>,
  loose: ReadonlyArray<Loose>,
  cause: Cause.Cause<SqlError.SqlError | NodeFenced>,
  location: string
): Effect.Effect<void> => {
  const failure = cause.reasons.find(Cause.isFailReason)
  const error: StorageError =
    failure !== undefined
      ? failure.error._tag === "NodeFenced"
        ? failure.error
        : fromSqlError(failure.error, "write", undefined, location)
      : new StorageUnavailable({ reason: "failed", operation: "write", detail: Cause.pretty(cause) })
  for (const w of written) {
    settle(
      w,
      error._tag === "StorageUnavailable"
        ? new StorageUnavailable({ ...error, persistenceId: w.tracked.persistenceId })
        : error
    )
  }
  for (const l of loose) l.done(Exit.fail(error))
  return Effect.void
}

/** Tells an actor's waiters what came of its state (committed: its revision moves on; else it is marked failed). */
const settle = (w: Written, error: StorageError | undefined): void => {
  const t = w.tracked
  t.inFlight = false
  const failure: WriteError | undefined =
    w.encodeError !== undefined
      ? new StateNotEncodable({ persistenceId: t.persistenceId, detail: describe(w.encodeError) })
      : error
  if (failure === undefined) {
    t.revision++
    for (const after of w.after) after()
  } else t.failure = failure
  for (const waiter of w.waiters) waiter(failure)
}
