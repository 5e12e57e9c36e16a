/**
 * The engine's shard-lock calls on a runner: lock checks batched, and every lock call timed.
 *
 * Effect Cluster confirms a shard's lock before it stores each persisted request's reply: a `refresh` of that one
 * shard (one check in flight per shard), besides its periodic `refresh` of all its shards. On PostgreSQL each refresh
 * is two statements (the runner's heartbeat, then its advisory locks from `pg_locks`) on the one connection that holds
 * the locks, so a runner with 10 shards under a backlog had up to 10 checks queued there, each statement waiting for
 * a turn of the runner's event loop. Under 6 CPU burners single-shard checks took 8-15 s, the periodic refresh behind
 * them missed its 10 s deadline, and the runner declared its lock storage unhealthy and dropped every shard, 3-5 times
 * per runner in 4 minutes (`Runners.test.ts`; PostgreSQL itself never had a lock statement running when sampled).
 * Here the refreshes are batched: one is in flight, and those that come meanwhile wait for it and then go together
 * as one refresh of all their shards, each told only about its own shards. A check therefore waits at most for the
 * refresh in flight and its own, whatever the number of shards: the answer is as fresh as the engine's own sharing
 * of a check in flight (a check confirms the lock at some moment after it was asked for).
 */
import { Deferred, Effect, type Exit, Layer, type Scope } from "effect"
import { type RunnerAddress, RunnerStorage, type ShardId } from "effect/cluster"
import type { PersistenceError } from "effect/cluster/ClusterError"

type Storage = RunnerStorage.RunnerStorage["Service"]
type Refreshed = Exit.Exit<Array<ShardId.ShardId>, PersistenceError>

/** A lock call slower than this is logged. */
const SLOW_MILLIS = 1_000

/** A runner address's refreshes: whether one is in flight, and those waiting for the next batch. */
interface Line {
  running: boolean
  next: Batch | undefined
  readonly address: RunnerAddress.RunnerAddress
}

/** The refreshes waiting for the next batch: their shards, and where the batch's answer goes. */
interface Batch {
  readonly shards: Map<string, ShardId.ShardId>
  readonly done: Deferred.Deferred<Array<ShardId.ShardId>, PersistenceError>
}

/**
 * `storage` with its non-empty refreshes batched per runner address (one in flight, the others together in the
 * next), each batch run in `scope`. An empty refresh (the engine's probe while its lock storage is unhealthy) and the
 * other calls go through as they are.
 */
export const batched = (storage: Storage, scope: Scope.Scope): Storage => {
  // every change of a line's state is synchronous (no fiber runs between the check and the change)
  const lines = new Map<string, Line>()
  const run = (line: Line, batch: Batch): Effect.Effect<void> =>
    Effect.asVoid(
      Effect.forkIn(
        storage.refresh(line.address, [...batch.shards.values()]).pipe(
          Effect.onExit((exit: Refreshed) =>
            Effect.suspend(() => {
              Deferred.doneUnsafe(batch.done, exit)
              const next = line.next
              line.next = undefined
              line.running = next !== undefined
              return next === undefined ? Effect.void : run(line, next)
            })
          )
        ),
        scope,
        { startImmediately: true }
      )
    )
  return {
    ...storage,
    refresh: (address, shardIds) => {
      const ids = [...shardIds]
      if (ids.length === 0) return storage.refresh(address, ids)
      // (uninterruptible until the batch is in flight: a line marked running always has one)
      return Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const key = address.toString()
          let line = lines.get(key)
          if (line === undefined) lines.set(key, (line = { running: false, next: undefined, address }))
          if (line.next === undefined)
            line.next = { shards: new Map(), done: Deferred.makeUnsafe<Array<ShardId.ShardId>, PersistenceError>() }
          const batch = line.next
          for (const id of ids) batch.shards.set(id.toString(), id)
          const mine = new Set(ids.map(String))
          const answer = Effect.map(Deferred.await(batch.done), (held) => held.filter((id) => mine.has(id.toString())))
          if (line.running) return restore(answer)
          line.running = true
          line.next = undefined
          return Effect.andThen(run(line, batch), restore(answer))
        })
      )
    }
  }
}

/**
 * `storage`'s lock calls timed: a call slower than a second is logged at debug level ("A slow shard-lock call") with
 * its name, its shards, its time and the lock calls in flight when it started (`ahead`).
 */
export const watched = (storage: Storage): Storage => {
  let inFlight = 0
  const time =
    (op: string) =>
    <A, E>(shards: number, call: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        const ahead = inFlight++
        const started = Date.now()
        return call.pipe(
          Effect.ensuring(
            Effect.suspend(() => {
              inFlight--
              const millis = Date.now() - started
              return millis < SLOW_MILLIS
                ? Effect.void
                : Effect.logDebug("A slow shard-lock call").pipe(
                    Effect.annotateLogs({ op, shards, millis, ahead, module: "troupe/cluster/locks" })
                  )
            })
          )
        )
      })
  const acquire = time("acquire")
  const refresh = time("refresh")
  const release = time("release")
  const releaseAll = time("releaseAll")
  return {
    ...storage,
    acquire: (address, shardIds) => {
      const ids = [...shardIds]
      return acquire(ids.length, storage.acquire(address, ids))
    },
    refresh: (address, shardIds) => {
      const ids = [...shardIds]
      return refresh(ids.length, storage.refresh(address, ids))
    },
    release: (address, shardId) => release(1, storage.release(address, shardId)),
    releaseAll: (address) => releaseAll(0, storage.releaseAll(address))
  }
}

/** `inner`'s runner storage with its refreshes batched ({@link batched}) and its lock calls timed ({@link watched}). */
export const layer = <E, R>(
  inner: Layer.Layer<RunnerStorage.RunnerStorage, E, R>
): Layer.Layer<RunnerStorage.RunnerStorage, E, R> =>
  Layer.effect(
    RunnerStorage.RunnerStorage,
    Effect.gen(function* () {
      return watched(batched(yield* RunnerStorage.RunnerStorage, yield* Effect.scope))
    })
  ).pipe(Layer.provide(inner))
