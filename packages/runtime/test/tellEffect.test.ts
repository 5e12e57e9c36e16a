/**
 * A remote tell's effect (src/internal/remote/tellEffect.ts) in process: the primitive one and the `withFiber` one
 * it falls back to on an Effect that runs primitives otherwise behave the same, run every way a user can.
 * test/remote-tell-effect.test.ts runs the primitive one across nodes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { primitive, tell, viaWithFiber } from "../src/internal/remote/tellEffect.ts"

class Refused {
  readonly _tag = "Refused"
}

/** A ref that records what it was told; `refuse` makes its next tells fail, `slow` makes them wait first. */
class Recorder {
  told: Array<number> = []
  refuse = false
  slow = false
}
const run = (_fiber: unknown, ref: Recorder, message: number): Effect.Effect<void, Refused> | undefined => {
  if (ref.refuse) return Effect.fail(new Refused())
  if (ref.slow)
    return Effect.andThen(
      Effect.yieldNow,
      Effect.sync(() => ref.told.push(message))
    )
  ref.told.push(message)
  return undefined
}

describe("a remote tell's effect", () => {
  it("is the primitive one on this Effect (the fast path did not silently fall back)", () => {
    assert.isTrue(primitive)
  })

  for (const [name, make] of [
    ["primitive", tell],
    ["withFiber", viaWithFiber]
  ] as const) {
    describe(name, () => {
      it.effect("is lazy and reusable: each run tells once, in order", () =>
        Effect.gen(function* () {
          const ref = new Recorder()
          const one = make(ref, 1, run)
          make(ref, 1000, run)
          assert.isTrue(Effect.isEffect(one))
          assert.deepStrictEqual(ref.told, [])
          yield* one
          yield* one
          assert.strictEqual(yield* Effect.map(one, () => "mapped"), "mapped")
          yield* Effect.all([one, one])
          yield* Effect.all([one, one], { concurrency: "unbounded" })
          yield* Fiber.join(yield* Effect.forkChild(one))
          assert.isTrue(Exit.isSuccess(Effect.runSyncExit(one)))
          yield* Effect.promise(() => Effect.runPromise(one))
          yield* Effect.all(
            [0, 1].map(() =>
              Effect.gen(function* () {
                for (let i = 0; i < 20; i++) {
                  yield* one
                  if (i % 7 === 0) yield* Effect.yieldNow
                }
              })
            ),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(ref.told.length, 2 + 1 + 2 + 2 + 1 + 1 + 1 + 40)
          ref.slow = true
          yield* Effect.all([make(ref, 2, run), make(ref, 3, run)])
          assert.deepStrictEqual(ref.told.slice(-2), [2, 3])
        })
      )

      it.effect("fails typed; the caller catches it and goes on", () =>
        Effect.gen(function* () {
          const ref = new Recorder()
          ref.refuse = true
          const error = yield* Effect.flip(make(ref, 1, run))
          assert.instanceOf(error, Refused)
          const exit = yield* Effect.exit(make(ref, 2, run))
          assert.isTrue(Exit.isFailure(exit))
          ref.refuse = false
          yield* make(ref, 3, run)
          assert.deepStrictEqual(ref.told, [3])
        })
      )
    })
  }
})
