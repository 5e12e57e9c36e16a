/**
 * The Effect a remote tell returns: one object (its ref and its message) that Effect's fiber runs as a single
 * step of its own, the way it runs `Effect.sync`. A `withFiber` closure instead costs a primitive, a closure and
 * its context per tell, and a tell put on the link at once costs the fiber a second step (the `Effect.void` it
 * returns); here the tell and the fiber's continuation are one step, and `yield*` of it makes one iterator.
 *
 * It relies on how Effect 4 (4.1) runs a primitive: the fiber calls its `"~effect/Effect/evaluate"` method with
 * itself and runs what that returns. This module checks that key at load (and test/remote-tell-effect.test.ts
 * runs the effect every way a user can), so an Effect that changes it fails loudly, not silently.
 */
import { Effect, type Fiber } from "effect"

/** Effect's key of a primitive's step (`evaluate` in effect/internal/core.js). */
const EVALUATE = "~effect/Effect/evaluate"

type Step = (this: unknown, fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<unknown, unknown>

/** `Effect.sync(noop)`: its step calls `noop`, then continues the fiber with `undefined` at once. */
const done = Effect.sync(() => {})
const syncProto = Object.getPrototypeOf(done) as Record<string, unknown>
const syncStep = syncProto[EVALUATE] as Step
if (typeof syncStep !== "function") {
  throw new Error(`@troupe/runtime: this version of effect has no "${EVALUATE}" step on its primitives`)
}

/**
 * A tell's effect: `run(fiber)` tells, and returns undefined once done (the fiber then continues at once, as
 * after `Effect.void`) or the effect that finishes it (a wait for room, a failure, a dead letter).
 *
 * @example
 * ```ts
 * // one function for all tells, made once (a closure per tell is what this module saves)
 * const tellNow = (fiber, ref, message) => ref.remoting.tellNow(fiber, ref, message)
 * const effect = tell(ref, message, tellNow)
 * ```
 */
export const tell = <R, M, E>(
  ref: R,
  message: M,
  run: (fiber: Fiber.Fiber<unknown, unknown>, ref: R, message: M) => Effect.Effect<void, E> | undefined
): Effect.Effect<void, E> => new Tell(ref, message, run as Run) as unknown as Effect.Effect<void, E>

type Run = (
  fiber: Fiber.Fiber<unknown, unknown>,
  ref: unknown,
  message: unknown
) => Effect.Effect<void, unknown> | undefined

/** The result `yield*` reads, and the iterator that gives it (one object per `yield*`). */
class Once {
  value: unknown
  done = false
  private started = false
  constructor(effect: unknown) {
    this.value = effect
  }
  next(value: unknown): this {
    // the generator reads `value` and `done` of each result at once, before it asks for the next
    if (this.started) {
      this.value = value
      this.done = true
    } else this.started = true
    return this
  }
  [Symbol.iterator](): this {
    return this
  }
}

class Tell {
  readonly ref: unknown
  readonly message: unknown
  readonly run: Run
  constructor(ref: unknown, message: unknown, run: Run) {
    this.ref = ref
    this.message = message
    this.run = run
  }
  [EVALUATE](fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<unknown, unknown> {
    return this.run(fiber, this.ref, this.message) ?? syncStep.call(done, fiber)
  }
  [Symbol.iterator](): Once {
    return new Once(this)
  }
}
// an Effect like any other (pipe, toJSON, Effect.isEffect...): Effect.sync's prototype, with the step above
Object.setPrototypeOf(Tell.prototype, syncProto)
