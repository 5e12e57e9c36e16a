/**
 * The deadline heap behind every ask (`internal/deadlines.ts`): asks one after another with the same timeout
 * schedule and cancel their deadlines without waking or re-arming its one sleeper (no fiber and no timer per ask);
 * only a deadline earlier than the one it sleeps to re-arms it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, type Fiber } from "effect"
import { Deadlines } from "../src/internal/deadlines.ts"

describe("Deadlines", () => {
  it.live("asks in a row with one timeout arm the sleeper once, not once per ask; an earlier deadline re-arms it", () =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      let sleepers = 0
      const deadlines = new Deadlines(clock, (effect) => {
        sleepers++
        return Effect.runFork(effect)
      })
      try {
        for (let i = 0; i < 1_000; i++) {
          const deadline = deadlines.schedule(deadlines.now() + 30_000, () => assert.fail("a cancelled deadline fired"))
          deadlines.cancel(deadline)
        }
        assert.strictEqual(sleepers, 1)
        let fired = 0
        deadlines.schedule(deadlines.now() + 5, () => fired++)
        assert.strictEqual(sleepers, 2)
        yield* Effect.sleep("100 millis")
        assert.strictEqual(fired, 1)
      } finally {
        deadlines.close()
      }
    })
  )

  it.live(
    "with stopWhenIdle, cancelling the last deadline stops the sleeper (and its timer): a finished process exits",
    () =>
      Effect.gen(function* () {
        const clock = yield* Clock.Clock
        /** Two turns of the event loop: an interrupted sleeper has ended by then. */
        const turns = Effect.promise(() => new Promise((resolve) => setImmediate(() => setImmediate(resolve))))
        for (const stopWhenIdle of [false, true]) {
          let sleeper: Fiber.Fiber<void> | undefined
          const deadlines = new Deadlines(
            clock,
            (effect) => {
              sleeper = Effect.runFork(effect)
              return sleeper
            },
            stopWhenIdle
          )
          const first = deadlines.schedule(deadlines.now() + 60_000, () => assert.fail("a cancelled deadline fired"))
          const second = deadlines.schedule(deadlines.now() + 60_000, () => assert.fail("a cancelled deadline fired"))
          deadlines.cancel(first)
          yield* turns
          assert.isUndefined(sleeper!.pollUnsafe(), "one deadline still waits: the sleeper sleeps")
          deadlines.cancel(second)
          yield* turns
          // the system's table sleeps on to the deadline it slept for (asks in a row fork no sleeper each)
          assert.strictEqual(sleeper!.pollUnsafe() !== undefined, stopWhenIdle, `stopWhenIdle: ${stopWhenIdle}`)
          let fired = 0
          deadlines.schedule(deadlines.now() + 5, () => fired++)
          yield* Effect.sleep("100 millis")
          assert.strictEqual(fired, 1, "a deadline scheduled after the sleeper stopped fires")
          deadlines.close()
        }
      })
  )
})
