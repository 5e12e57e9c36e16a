import { assert, describe, it } from "@effect/vitest"
import { ActorSystem } from "@troupe/runtime"
import { Effect } from "effect"
import { Counter, counter, eventually, withSystem } from "./fixtures.ts"

const gc = (globalThis as { gc?: () => void }).gc

const heapUsed = () => {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

describe("no leaks", () => {
  it.live(
    "100 k spawn/stop cycles leave no actor, no fiber and no memory behind",
    () =>
      withSystem(
        Effect.gen(function* () {
          const system = yield* ActorSystem.ActorSystem
          const cycle = Effect.gen(function* () {
            const ref = yield* system.spawn(counter())
            yield* ref.tell(Counter.Add({ n: 1 }))
            yield* system.stop(ref)
          })
          // warm up, then measure
          for (let i = 0; i < 5_000; i++) yield* cycle
          const before = heapUsed()
          for (let i = 0; i < 100_000; i++) yield* cycle
          yield* eventually(() => Effect.runSync(system.stats).running === 0, "every drain fiber to end")
          const after = heapUsed()
          const stats = yield* system.stats
          assert.strictEqual(stats.actors, 0)
          assert.strictEqual(stats.running, 0)
          assert.isDefined(gc, "the tests run with --expose-gc")
          // 100 k leaked actors would be tens of MB; allow noise
          assert.isBelow(after - before, 4 * 1024 * 1024, `heap grew by ${after - before} bytes`)
        })
      ),
    // a fixed amount of work, bounded only against a hang: ~3 s quiet, over 30 s at load 17-20 (seen)
    120_000
  )
})
