/**
 * Claims on stored messages across a shard handover: a shard's lock is released only once this runner's reads of
 * the shard's stored messages have reached the database, and their claims are cleared first.
 *
 * Effect Cluster reads a runner's unprocessed stored messages in batches and claims what a read returns (it sets
 * `last_read`; a claimed message is read by no one for 10 minutes). The messages of a shard the runner no longer holds
 * when it hands the batch over are skipped, their claims kept; the shard's next owner clears the shard's claims when it
 * takes the shard, and never after. So a read issued before a handover that reached the database after the next
 * owner's clearing (held in a loaded runner's pool queue, or its event loop) parked the shard's messages for 10
 * minutes: delivered by no runner, while the actors' later messages were (Runners.test.ts: ledgers of one shard
 * answered `[1, 3]` after a rolling restart, their tell 2 parked; ClaimHandover.test.ts holds the read at the database
 * and fails without this). Persisted tells, asks and sessions' messages alike.
 *
 * Here every read is tracked, and runs to its end once started (an interrupted read's statement still reaches the
 * database); a shard's release, and the release of all of a runner's shards, first waits for the reads of those shards
 * in flight (at most `settleMillis`), then clears the claims on those shards' messages (also those of a read that
 * reached the database after the lock was lost another way; within `settleMillis` again, as the runner's pool may be
 * held by its traffic), then releases the locks: the next owner clears and reads after every claim of the old owner.
 */
import { Clock, Context, Deferred, Duration, Effect, Exit, Layer } from "effect"
import { MessageStorage, type RunnerAddress, RunnerStorage, type ShardId } from "effect/cluster"

type Messages = MessageStorage.MessageStorage["Service"]
type Runners = RunnerStorage.RunnerStorage["Service"]

/** The stop deadlines run on the real clock (a test's `TestClock` does not hold a runner's release). */
const liveClock = Clock.Clock.defaultValue()

/** A read of stored messages in flight: its shards, and when it ended. */
interface Read {
  readonly shards: ReadonlySet<string>
  readonly done: Deferred.Deferred<void>
}

/** This runner's reads of stored messages: those in flight, and the shards read since their last release. */
export class Reads {
  private readonly inFlight = new Set<Read>()
  /** Every shard read since its last release (a claim on its messages may stand), by its string form. */
  private readonly read = new Map<string, ShardId.ShardId>()

  /** Runs `read` (a read of the messages of `shardIds`) to its end once started, tracked while it runs. */
  track<A, E>(shardIds: ReadonlyArray<ShardId.ShardId>, read: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.uninterruptible(
      Effect.suspend(() => {
        const entry: Read = { shards: new Set(shardIds.map(String)), done: Deferred.makeUnsafe<void>() }
        this.inFlight.add(entry)
        for (const id of shardIds) this.read.set(String(id), id)
        return Effect.ensuring(
          read,
          Effect.suspend(() => {
            this.inFlight.delete(entry)
            return Deferred.done(entry.done, Exit.void)
          })
        )
      })
    )
  }

  /**
   * Waits (at most `millis`) for the reads in flight now of the shards `shardIds` (every shard: `undefined`); answers
   * the shards read since their last release among them, now forgotten, whose claims are to be cleared.
   */
  settle(shardIds: ReadonlyArray<ShardId.ShardId> | undefined, millis: number): Effect.Effect<Array<ShardId.ShardId>> {
    return Effect.suspend(() => {
      const wanted = shardIds === undefined ? undefined : new Set(shardIds.map(String))
      const waits = [...this.inFlight]
        .filter((r) => wanted === undefined || [...wanted].some((id) => r.shards.has(id)))
        .map((r) => Deferred.await(r.done))
      const wait =
        waits.length === 0
          ? Effect.void
          : Effect.all(waits, { discard: true }).pipe(
              Effect.timeoutOption(Duration.millis(millis)),
              Effect.provideService(Clock.Clock, liveClock),
              Effect.flatMap((ended) =>
                ended._tag === "Some"
                  ? Effect.void
                  : Effect.logWarning(
                      "A read of stored messages did not end before its shard's release: the shard is released anyway, and a claim it makes later keeps the shard's messages from the next owner for 10 minutes"
                    ).pipe(Effect.annotateLogs({ shards: [...(wanted ?? ["all"])], timeoutMillis: millis }))
              )
            )
      return Effect.map(wait, () => {
        const cleared: Array<ShardId.ShardId> = []
        for (const [key, id] of this.read) {
          if (wanted !== undefined && !wanted.has(key)) continue
          cleared.push(id)
          this.read.delete(key)
        }
        return cleared
      })
    })
  }
}

/** `messages` with its reads of unprocessed messages tracked in `reads`. */
export const messageStorage = (messages: Messages, reads: Reads): Messages => ({
  ...messages,
  unprocessedMessages: (shardIds, options) => {
    // (taken now: the engine passes the set of shards it holds, which changes)
    const ids = [...shardIds]
    return reads.track(ids, messages.unprocessedMessages(ids, options))
  }
})

/**
 * `runners` whose releases first wait for `reads` of the released shards (at most `settleMillis`) and clear the claims
 * on their messages in `messages`.
 */
export const runnerStorage = (runners: Runners, messages: Messages, reads: Reads, settleMillis: number): Runners => {
  const clear = (shardIds: ReadonlyArray<ShardId.ShardId>, address: RunnerAddress.RunnerAddress) =>
    shardIds.length === 0
      ? Effect.void
      : messages.resetShards(shardIds).pipe(
          // (bounded too: the runner's pool may be held by its traffic, and a release must not wait for it)
          Effect.timeout(Duration.millis(settleMillis)),
          Effect.provideService(Clock.Clock, liveClock),
          Effect.catchCause((cause) =>
            // the next owner clears them when it takes the shards; only a read that reaches the database after that
            // would keep messages from it
            Effect.logWarning("Could not clear the claims on the stored messages of released shards", cause).pipe(
              Effect.annotateLogs({ runner: String(address), shards: shardIds.map(String) })
            )
          )
        )
  return {
    ...runners,
    release: (address, shardId) =>
      Effect.flatMap(reads.settle([shardId], settleMillis), (read) =>
        Effect.andThen(clear(read, address), runners.release(address, shardId))
      ),
    releaseAll: (address) =>
      Effect.flatMap(reads.settle(undefined, settleMillis), (read) =>
        Effect.andThen(clear(read, address), runners.releaseAll(address))
      )
  }
}

/**
 * The engine's message storage and runner storage from `messages` and `runners`, with reads tracked and releases
 * settled ({@link messageStorage}, {@link runnerStorage}).
 *
 * @example
 * ```ts
 * const storages = Claims.layer(SqlMessageStorage.layer, SqlRunnerStorage.layer, 5_000)
 * ```
 */
export const layer = <E1, R1, E2, R2>(
  messages: Layer.Layer<MessageStorage.MessageStorage, E1, R1>,
  runners: Layer.Layer<RunnerStorage.RunnerStorage, E2, R2>,
  settleMillis: number
): Layer.Layer<MessageStorage.MessageStorage | RunnerStorage.RunnerStorage, E1 | E2, R1 | R2> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const innerMessages = yield* MessageStorage.MessageStorage
      const innerRunners = yield* RunnerStorage.RunnerStorage
      const reads = new Reads()
      return Context.make(MessageStorage.MessageStorage, messageStorage(innerMessages, reads)).pipe(
        Context.add(RunnerStorage.RunnerStorage, runnerStorage(innerRunners, innerMessages, reads, settleMillis))
      )
    })
  ).pipe(Layer.provide(Layer.merge(messages, runners)))
