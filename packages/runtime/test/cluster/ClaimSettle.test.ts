/**
 * A shard's release settles this runner's claims on its stored messages first (cluster/internal/claims.ts), over
 * engine storages that answer when the test says: the release waits for the reads of the shard in flight (also one
 * whose caller was interrupted: it runs to its end), clears the claims of the shards read since their last release,
 * then releases the lock; a read that does not end in time is named in a warning and the release goes on.
 * `ClaimHandover.test.ts` shows the race itself on PostgreSQL (`TROUPE_CLUSTER=1`).
 */
import { Deferred, Effect, Fiber, Logger } from "effect"
import { type MessageStorage, RunnerAddress, type RunnerStorage, ShardId } from "effect/cluster"
import { describe, expect, it } from "vitest"
import * as Claims from "../../src/cluster/internal/claims.ts"

const address = RunnerAddress.make("127.0.0.1", 1)
const s1 = ShardId.make("default", 1)
const s2 = ShardId.make("default", 2)
const s3 = ShardId.make("default", 3)

/** Engine storages that log what they are asked, each read answering when its Deferred is done. */
const storages = (settleMillis = 10_000) => {
  const log: Array<string> = []
  const reads: Array<Deferred.Deferred<void>> = []
  const messages = {
    unprocessedMessages: (shardIds: Iterable<ShardId.ShardId>) =>
      Effect.suspend(() => {
        const ids = [...shardIds].map(String).join(",")
        const done = Deferred.makeUnsafe<void>()
        reads.push(done)
        log.push(`read ${ids}`)
        return Deferred.await(done).pipe(
          Effect.map(() => {
            log.push(`read ${ids} landed`)
            return []
          })
        )
      }),
    resetShards: (shardIds: Iterable<ShardId.ShardId>) =>
      Effect.sync(() => log.push(`clear ${[...shardIds].map(String).join(",")}`))
  } as unknown as MessageStorage.MessageStorage["Service"]
  const runners = {
    release: (_: RunnerAddress.RunnerAddress, shardId: ShardId.ShardId) =>
      Effect.sync(() => log.push(`release ${shardId}`)),
    releaseAll: () => Effect.sync(() => log.push("release all"))
  } as unknown as RunnerStorage.RunnerStorage["Service"]
  const tracked = new Claims.Reads()
  return {
    log,
    reads,
    messages: Claims.messageStorage(messages, tracked),
    runners: Claims.runnerStorage(runners, messages, tracked, settleMillis)
  }
}

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const turns = () => new Promise((resolve) => setTimeout(resolve, 20))

describe("a shard's release settles this runner's claims on its stored messages", () => {
  it("waits for the reads of the shard in flight, clears the claims, then releases the lock", async () => {
    const { log, reads, messages, runners } = storages()
    const read = Effect.runFork(messages.unprocessedMessages([s1, s2]))
    await turns()
    const released = Effect.runFork(runners.release(address, s1))
    await turns()
    expect(log).toEqual(["read default:1,default:2"])
    await run(Deferred.succeed(reads[0]!, undefined))
    await run(Fiber.join(released))
    await run(Fiber.join(read))
    expect(log).toEqual([
      "read default:1,default:2",
      "read default:1,default:2 landed",
      "clear default:1",
      "release default:1"
    ])
    // a shard with no read in flight and none since its release: released at once, nothing to clear
    log.length = 0
    await run(runners.release(address, s1))
    await run(runners.release(address, s3))
    expect(log).toEqual(["release default:1", "release default:3"])
  })

  it("lets a read whose caller is interrupted reach the database before the release", async () => {
    const { log, reads, messages, runners } = storages()
    const read = Effect.runFork(messages.unprocessedMessages([s2]))
    await turns()
    const interrupted = Effect.runFork(Fiber.interrupt(read))
    const released = Effect.runFork(runners.release(address, s2))
    await turns()
    expect(log).toEqual(["read default:2"])
    await run(Deferred.succeed(reads[0]!, undefined))
    await run(Fiber.join(interrupted))
    await run(Fiber.join(released))
    expect(log).toEqual(["read default:2", "read default:2 landed", "clear default:2", "release default:2"])
  })

  it("clears every shard read since its last release before releasing them all", async () => {
    const { log, reads, messages, runners } = storages()
    await run(Effect.forkDetach(messages.unprocessedMessages([s1])))
    await turns()
    await run(Deferred.succeed(reads[0]!, undefined))
    const second = Effect.runFork(messages.unprocessedMessages([s2, s3]))
    await turns()
    const all = Effect.runFork(runners.releaseAll(address))
    await turns()
    expect(log.at(-1)).toBe("read default:2,default:3")
    await run(Deferred.succeed(reads[1]!, undefined))
    await run(Fiber.join(all))
    await run(Fiber.join(second))
    expect(log).toEqual([
      "read default:1",
      "read default:1 landed",
      "read default:2,default:3",
      "read default:2,default:3 landed",
      "clear default:1,default:2,default:3",
      "release all"
    ])
  })

  it("releases anyway, with a warning, when a read does not end in time", async () => {
    const { log, messages, runners } = storages(50)
    const warnings: Array<string> = []
    const logger = Logger.make(({ message }) => warnings.push((message as ReadonlyArray<unknown>).join(" ")))
    Effect.runFork(messages.unprocessedMessages([s1]))
    await turns()
    await run(runners.release(address, s1).pipe(Effect.provide(Logger.layer([logger]))))
    expect(log).toEqual(["read default:1", "clear default:1", "release default:1"])
    expect(warnings.some((w) => w.includes("did not end before its shard's release"))).toBe(true)
  })
})
