/**
 * What the writer (`writer.ts`) keeps of what it is to write: a durable actor's instance ({@link Tracked}), a
 * statement someone waits for ({@link Loose}), and an instance's part of a batch being written ({@link Written}).
 */
import type { Exit } from "effect"
import type { PersistenceConflict, StorageError, WriteError } from "./errors.ts"
import type { Queued, Write } from "./writes.ts"

/** A durable actor's instance as the writer sees it. */
export interface Tracked {
  readonly persistenceId: string
  /** The revision last read or written; 0 when nothing is stored yet. */
  revision: number
  /** The version of the state's schema. */
  readonly version: number
  /** JSON of the latest state; throws if the state does not encode. */
  encode(): string
  dirty: boolean
  /** A batch with this instance's state is being written. */
  inFlight: boolean
  /** Statements to commit with the next snapshot. */
  ops: Array<Write>
  /** Told after the next commit of this instance's snapshot (with the error, if it failed). */
  waiters: Array<(error: WriteError | undefined) => void>
  /** Run after the next successful commit of this instance's snapshot. */
  afterCommit: Array<() => void>
  /** Set when a write of this instance failed: its memory is ahead of the database. */
  failure: WriteError | undefined
}

/** A statement written on its own (not with an actor's snapshot), and who waits for its outcome. */
export interface Loose {
  readonly write: Queued
  /** The writes of a batch with the same unit commit together or not at all (see {@link Writer.run}). */
  readonly unit: string | object | undefined
  readonly done: (exit: Exit.Exit<unknown, StorageError>) => void
}

/** An instance's part of the batch being written: its snapshot's JSON (or why it did not encode), its statements and who waits. */
export interface Written {
  readonly tracked: Tracked
  readonly waiters: ReadonlyArray<(error: WriteError | undefined) => void>
  readonly after: ReadonlyArray<() => void>
  readonly ops: ReadonlyArray<Write>
  readonly json: string | undefined
  readonly encodeError: unknown
  conflict: PersistenceConflict | undefined
}
