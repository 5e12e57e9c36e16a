/**
 * The deadline heap behind every ask (`internal/deadlines.ts`): asks one after another with the same timeout
 * schedule and cancel their deadlines without waking or re-arming its one sleeper (no fiber and no timer per ask);
 * only a deadline earlier than the one it sleeps to re-arms it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
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
})
