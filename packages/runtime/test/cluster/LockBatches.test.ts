/**
 * How a runner's lock checks are batched (cluster/internal/lockCalls.ts): one refresh in flight, those that come
 * meanwhile together in the next, each caller told about its own shards only; a caller that gives up does not take
 * the batch with it. The engine's runner storage here answers each refresh when the test opens its gate (the timing
 * of a loaded runner's lock connection is what `LockChecks.test.ts` covers on PostgreSQL).
 */
import { Deferred, Effect, Fiber } from "effect"
import { RunnerAddress, RunnerStorage, ShardId } from "effect/cluster"
import { describe, expect, it } from "vitest"
import * as LockCalls from "../../src/cluster/internal/lockCalls.ts"

const self = RunnerAddress.make("127.0.0.1", 34431)
const shard = (id: number) => ShardId.make("default", id)

/** A runner storage that holds the locks of `held`, records each refresh, and answers it when `open` is called. */
const gated = (held: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const memory = yield* RunnerStorage.makeMemory
    const calls: Array<Array<number>> = []
    let gate = yield* Deferred.make<void>()
    const storage: RunnerStorage.RunnerStorage["Service"] = {
      ...memory,
      refresh: (_address, shardIds) => {
        const ids = [...shardIds].map((s) => s.id)
        calls.push(ids)
        return Effect.as(Deferred.await(gate), ids.filter((id) => held.includes(id)).map(shard))
      }
    }
    const open = Effect.gen(function* () {
      const opened = gate
      gate = yield* Deferred.make<void>()
      yield* Deferred.succeed(opened, undefined)
    })
    return { storage, calls, open }
  })

/** Lets the forked fibers run until they wait. */
const settle = Effect.sleep("20 millis")

describe("a runner's lock checks, batched", () => {
  it("go one refresh at a time, those asked meanwhile together, each answered about its own shards", async () => {
    const result = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const { storage, calls, open } = yield* gated([1, 2, 3, 5, 8, 9])
          const locks = LockCalls.batched(storage, yield* Effect.scope)
          // shard 1's check, then shards 2..10 one each while it is in flight, then the periodic refresh of all
          const first = yield* Effect.forkChild(locks.refresh(self, [shard(1)]))
          yield* settle
          const rest = yield* Effect.forEach([2, 3, 4, 5, 6, 7, 8, 9, 10], (id) =>
            Effect.forkChild(locks.refresh(self, [shard(id)]))
          )
          const all = yield* Effect.forkChild(locks.refresh(self, [1, 2, 3, 4].map(shard)))
          yield* settle
          const whileFirst = calls.length
          yield* open
          yield* settle
          yield* open
          const answers = yield* Effect.forEach([first, ...rest, all], (f) =>
            Effect.map(Fiber.join(f), (held) => held.map((s) => s.id).sort((a, b) => a - b))
          )
          return { whileFirst, calls, answers }
        })
      )
    )
    // the first alone; everything asked while it was in flight went as one refresh
    expect(result.whileFirst).toBe(1)
    expect(result.calls).toEqual([[1], [2, 3, 4, 5, 6, 7, 8, 9, 10, 1]])
    expect(result.answers).toEqual([[1], [2], [3], [], [5], [], [], [8], [9], [], [1, 2, 3]])
  })

  it("goes on for the others when a caller gives up, and starts the next batch after it", async () => {
    const result = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const { storage, calls, open } = yield* gated([1, 2, 3])
          const locks = LockCalls.batched(storage, yield* Effect.scope)
          const first = yield* Effect.forkChild(locks.refresh(self, [shard(1)]))
          yield* settle
          const leaving = yield* Effect.forkChild(locks.refresh(self, [shard(2)]))
          const staying = yield* Effect.forkChild(locks.refresh(self, [shard(3)]))
          yield* settle
          // a caller interrupted (the engine's own deadline) while its batch waits, and one while its batch is in flight
          yield* Fiber.interrupt(leaving)
          yield* open
          yield* settle
          yield* Fiber.interrupt(first)
          yield* open
          const stayed = yield* Fiber.join(staying)
          // the line is free again: a new check goes at once
          const again = yield* Effect.forkChild(locks.refresh(self, [shard(2)]))
          yield* settle
          yield* open
          return { calls, stayed: stayed.map((s) => s.id), again: (yield* Fiber.join(again)).map((s) => s.id) }
        })
      )
    )
    expect(result.calls).toEqual([[1], [2, 3], [2]])
    expect(result.stayed).toEqual([3])
    expect(result.again).toEqual([2])
  })

  it("lets an empty refresh (the engine's probe) through at once", async () => {
    const calls = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const { storage, calls, open } = yield* gated([1])
          const locks = LockCalls.batched(storage, yield* Effect.scope)
          const first = yield* Effect.forkChild(locks.refresh(self, [shard(1)]))
          yield* settle
          const probe = yield* Effect.forkChild(locks.refresh(self, []))
          yield* settle
          const seen = [...calls]
          yield* open
          yield* Fiber.join(first)
          yield* Fiber.join(probe)
          return seen
        })
      )
    )
    expect(calls).toEqual([[1], []])
  })
})
