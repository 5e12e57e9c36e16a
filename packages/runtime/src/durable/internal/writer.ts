/**
 * Group commit: every write of a storage goes through one writer, which gathers what is pending and commits
 * it in one transaction, then tells each waiter.
 *
 * - A durable actor that handled a message is *dirty*: its latest state is encoded when the batch is written,
 *   so a burst of messages to one actor costs one write (its last state), and a burst to many actors costs
 *   one transaction. Nothing waits for a dirty state unless it asked to ({@link Writer.commit}).
 * - Statements tied to an actor (a durable message marked handled, with its reply) commit in the same
 *   transaction as that actor's state, or not at all.
 * - Loose statements (a durable message stored for its recipient, a journal entry) are batched too.
 *
 * Every snapshot write checks the revision the actor last read or wrote: if another instance wrote the same
 * persistence id meanwhile, that actor's part of the batch is left out and its waiters get
 * `PersistenceConflict`. A batch the database refuses for what one of its writes holds (a constraint, a trigger: see
 * `isRefusal`) is written again write by write, each in a savepoint (an actor's state with its statements is one
 * write): only the refused writes fail, the others commit. A transaction that fails otherwise (the connection, the
 * server) fails every waiter of the batch with the typed error. The actors whose state did not commit are marked
 * failed (their next message crashes them, and their supervisor restarts them from what was committed).
 *
 * This module gathers the batches; what a batch runs in its transaction, at once or write by write, is in `batch.ts`,
 * and what came of it is told to its waiters by `outcome.ts`.
 */
import { Cause, Effect, Exit } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import { allAtOnce, type Batch, fenced, oneByOne, type Tried } from "./batch.ts"
import { Transactions } from "./connection.ts"
import type { NodeFenced, StorageError, WriteError } from "./errors.ts"
import type { Fence } from "./nodeClaim.ts"
import { committed, failed } from "./outcome.ts"
import type { Merged } from "./rows.ts"
import type { Loose, Tracked, Written } from "./tracked.ts"
import {
  type Calls,
  type Expanded,
  expand,
  isRefusal,
  isVictim,
  type Op,
  type Queued,
  rowOf,
  victimRetry
} from "./writes.ts"

export type { Tracked } from "./tracked.ts"

/** Writes the durable modules' operations in batches, one transaction each (its own connection when the pool can spare one). */
export class Writer {
  private dirty = new Set<Tracked>()
  private loose: Array<Loose> = []
  private urgent = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private immediate: ReturnType<typeof setImmediate> | undefined
  private flushing = false
  private closed = false
  private readonly sql: SqlClient.SqlClient
  private readonly delayMillis: number
  /** Where the database is, for messages. */
  readonly location: string
  /** Runs a batch's effect (with the storage's services). */
  private readonly fork: (effect: Effect.Effect<void>) => { addObserver(f: () => void): void }
  private readonly transactions: Transactions
  /** The storage's node names (see `nodeClaim.ts`): checked first in every batch's transaction. */
  private readonly fence: Fence | undefined
  /** How many statement calls the batches made so far (a multi-row statement's call counts once), and loose writes they took. */
  readonly calls: Calls = { count: 0, writes: 0 }

  constructor(options: {
    readonly sql: SqlClient.SqlClient
    readonly delayMillis: number
    readonly location: string
    readonly fork: (effect: Effect.Effect<void>) => { addObserver(f: () => void): void }
    /** Whether batches keep a connection of their own (PostgreSQL; see `connection.ts`): `undefined` when the pool can spare one. */
    readonly writerConnection: boolean | undefined
    /** The storage's node names, checked first in every batch's transaction (see `nodeClaim.ts`). */
    readonly fence?: Fence
  }) {
    this.fence = options.fence
    this.sql = options.sql
    this.delayMillis = options.delayMillis
    this.location = options.location
    this.fork = options.fork
    this.transactions = new Transactions(options.sql, options.writerConnection)
  }

  /**
   * The instance has a new state to write; it is written in a later batch and no one waits for it (`soon`:
   * in the next batch, for work that has callbacks after its commit).
   */
  markDirty(tracked: Tracked, soon = false): void {
    if (!tracked.dirty) {
      tracked.dirty = true
      this.dirty.add(tracked)
    }
    this.schedule(soon)
  }

  /** Writes the instance's latest state (and its pending statements) and waits for the commit. */
  commit(tracked: Tracked): Effect.Effect<void, WriteError> {
    return Effect.callback<void, WriteError>((resume) => {
      if (tracked.failure !== undefined) return resume(Effect.fail(tracked.failure))
      if (this.fence?.lost !== undefined) return resume(Effect.fail(this.fence.lost))
      tracked.waiters.push((error) => resume(error === undefined ? Effect.void : Effect.fail(error)))
      if (!tracked.dirty) {
        tracked.dirty = true
        this.dirty.add(tracked)
      }
      this.schedule(true)
    })
  }

  /**
   * Runs a statement in the next batch and waits for the commit. The writes of a batch given the same `unit` commit
   * together or not at all, also when the database refuses one of the batch's writes and the others are written
   * without it (a session log's writes, which carry sends another of them took: see `sessionLog.ts`).
   */
  run<A>(op: Op<A>, unit?: string | object): Effect.Effect<A, StorageError> {
    return this.enqueue<A>(op as Op, unit)
  }

  /**
   * Like {@link run}, with rows of a multi-row statement taken when the batch starts (`take`, once per batch): the
   * batch writes the rows every such write of it gathered in one call of `gather` (a few under the parameter limit),
   * then each one's `then` (its `after`, see `Gathered` in `writes.ts`). A session log's writes: the sends of many sessions and
   * their `once` results are one statement of a batch, not one per session (each a round trip: on a loaded runner, a
   * turn of its event loop each).
   */
  runGathered<R, A>(
    gather: Merged<R, unknown>,
    take: () => ReadonlyArray<R>,
    then: Op<A>,
    unit?: string | object
  ): Effect.Effect<A, StorageError> {
    return this.enqueue<A>({ gather: gather as Merged<never, unknown>, take, after: then as Op }, unit)
  }

  /**
   * Writes a row of a multi-row statement in the next batch and waits for the commit: the batch runs it with
   * the rows of the same statement queued right before and after it, as one statement (or a few, under the
   * database's parameter limit).
   */
  runRow<R, A>(merged: Merged<R, A>, value: R): Effect.Effect<A, StorageError> {
    return this.enqueue<A>(rowOf(merged, value), undefined)
  }

  /** Queues a loose write for the next batch, and waits for its outcome (refused once the storage closed or was fenced). */
  private enqueue<A>(write: Queued, unit: string | object | undefined): Effect.Effect<A, StorageError> {
    return Effect.callback<A, StorageError>((resume) => {
      if (this.closed) {
        return resume(Effect.die(new Error("the storage was closed: no write is accepted after its layer is released")))
      }
      if (this.fence?.lost !== undefined) return resume(Effect.fail(this.fence.lost))
      this.loose.push({ write, unit, done: (exit) => resume(exit as Exit.Exit<A, StorageError>) })
      this.schedule(true)
    })
  }

  /** The claim this storage lost (another process took its node name over), once it lost one: every write fails with it. */
  get lost(): NodeFenced | undefined {
    return this.fence?.lost
  }

  /** Whether nothing is pending or being written. */
  get idle(): boolean {
    return !this.flushing && this.dirty.size === 0 && this.loose.length === 0
  }

  /** Writes what is pending now and waits until the writer is idle (used when the storage closes). */
  readonly drain: Effect.Effect<void> = Effect.callback<void>((resume) => {
    const check = () => {
      if (this.idle) return resume(Effect.void)
      this.schedule(true)
      setTimeout(check, 1)
    }
    check()
  })

  close(): void {
    this.closed = true
  }

  /**
   * Takes the connection the batches run on, when they keep one (PostgreSQL) and the pool can spare it: at the
   * storage's start, while the pool is idle (a first batch under traffic would find none to spare and queue in the
   * pool). A failure is not the storage's: the first batch looks again.
   */
  get prepare(): Effect.Effect<void> {
    return this.transactions.prepare
  }

  /** Gives back the connection the batches ran on (after {@link drain}, when the storage closes). */
  get release(): Effect.Effect<void> {
    return this.transactions.release
  }

  private schedule(urgent: boolean): void {
    if (urgent) this.urgent = true
    if (this.flushing) return
    if (this.urgent) {
      if (this.timer !== undefined) {
        clearTimeout(this.timer)
        this.timer = undefined
      }
      this.immediate ??= setImmediate(() => this.flush())
    } else if (this.timer === undefined && this.immediate === undefined) {
      this.timer = setTimeout(() => this.flush(), this.delayMillis)
    }
  }

  private flush(): void {
    this.timer = undefined
    this.immediate = undefined
    if (this.dirty.size === 0 && this.loose.length === 0) return
    this.urgent = false
    this.flushing = true
    // a batch is bounded: what is left goes in the next one, at once
    const tracked: Array<Tracked> = []
    for (const t of this.dirty) {
      if (tracked.length === MAX_BATCH) break
      tracked.push(t)
      this.dirty.delete(t)
    }
    const loose = this.loose.splice(0, MAX_BATCH)
    this.calls.writes += loose.length
    if (this.dirty.size > 0 || this.loose.length > 0) this.urgent = true
    const written: Array<Written> = []
    for (const t of tracked) {
      t.dirty = false
      t.inFlight = true
      let json: string | undefined
      let encodeError: unknown
      try {
        json = t.encode()
      } catch (error) {
        encodeError = error
      }
      written.push({
        tracked: t,
        waiters: t.waiters,
        after: t.afterCommit,
        ops: t.ops,
        json,
        encodeError,
        conflict: undefined
      })
      t.waiters = []
      t.afterCommit = []
      t.ops = []
    }
    // gathered rows are taken now, once: a batch run again writes the same rows
    const expanded = loose.map((l) => expand(l.write))
    this.fork(this.write(written, loose, expanded)).addObserver(() => {
      this.flushing = false
      if (this.dirty.size > 0 || this.loose.length > 0) this.schedule(this.urgent)
    })
  }

  private write(
    written: ReadonlyArray<Written>,
    loose: ReadonlyArray<Loose>,
    expanded: ReadonlyArray<Expanded>
  ): Effect.Effect<void> {
    const now = Date.now()
    const calls = this.calls
    const callsBefore = calls.count
    // when the last try's transaction had its connection (and began), and when its statements were done
    const tries = { count: 0, began: now, ran: now }
    const batch: Batch = {
      sql: this.sql,
      calls,
      now,
      states: written.filter((w) => w.json !== undefined),
      loose,
      expanded,
      tries
    }
    const attempt = (body: Effect.Effect<Tried, SqlError.SqlError>) =>
      this.transactions
        .run(fenced(this.fence, body), (error) => isVictim(error) || isRefusal(error))
        .pipe(Effect.retry({ while: isVictim, schedule: victimRetry }))
    let refusal: SqlError.SqlError | undefined
    return attempt(allAtOnce(batch)).pipe(
      // one refused write fails only its own waiters: the others are written again without it
      Effect.catchIf(isRefusal, (error) => {
        refusal = error
        return attempt(oneByOne(batch))
      }),
      Effect.exit,
      Effect.flatMap((exit) =>
        Exit.isSuccess(exit)
          ? exit.value.lost !== undefined
            ? failed(written, loose, Cause.fail(exit.value.lost), this.location)
            : committed(batch, written, exit.value, refusal, callsBefore, this.location)
          : failed(written, loose, exit.cause, this.location)
      )
    )
  }
}

/**
 * The most actor states, and the most other statements, one batch writes (one transaction). A batch's
 * statements run one after the other, and every waiter of a batch waits for all of it: unbounded, a backlog
 * made one transaction of 6,057 statements that took 190 s at load 45 on 2 cores (a runner draining a killed
 * runner's shards), past every ask's and every stop's deadline.
 */
const MAX_BATCH = 500
