/**
 * The Effect a remote tell (and an ask without options) returns: one object (its ref and its message) that Effect's
 * fiber runs as a single step of its own, the way it runs `Effect.sync`. A `withFiber` closure instead costs a
 * primitive, a closure and its context per tell, and a tell put on the link at once costs the fiber a second step
 * (the `Effect.void` it returns); here the tell and the fiber's continuation are one step, and `yield*` of it makes
 * one iterator.
 *
 * It relies on how Effect 4 (4.1) runs a primitive: the fiber calls its `"~effect/Effect/evaluate"` method with
 * itself and runs what that returns. `effect` is a peer dependency, so this module checks at load that the
 * installed Effect still runs such a step as this one expects (a probe tell run through `Effect.gen` and
 * `Effect.map` must run once per yield and go on); if not, every tell is the plain `Effect.withFiber` one
 * ({@link viaWithFiber}: a closure more per tell, the same behaviour). test/remote-tell-effect.test.ts and
 * packages/runtime/test/tellEffect.test.ts run both every way a user can.
 */
import { Effect, Exit, type Fiber } from "effect"

/** Effect's key of a primitive's step (`evaluate` in effect/internal/core.js). */
const EVALUATE = "~effect/Effect/evaluate"

type Step = (this: unknown, fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<unknown, unknown>

/** `Effect.sync(noop)`: its step calls `noop`, then continues the fiber with `undefined` at once. */
const done = Effect.sync(() => {})
const syncProto = Object.getPrototypeOf(done) as Record<string, unknown>
const syncStep = syncProto[EVALUATE] as Step | undefined

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
): Effect.Effect<void, E> =>
  primitive
    ? (new Tell(ref, message, run as Run) as unknown as Effect.Effect<void, E>)
    : viaWithFiber(ref, message, run)

/**
 * The same tell as {@link tell}, made with `Effect.withFiber`: what {@link tell} gives when the installed Effect
 * does not run its primitive as expected.
 *
 * @example
 * ```ts
 * const effect = viaWithFiber(ref, message, tellNow)
 * ```
 */
export const viaWithFiber = <R, M, E>(
  ref: R,
  message: M,
  run: (fiber: Fiber.Fiber<unknown, unknown>, ref: R, message: M) => Effect.Effect<void, E> | undefined
): Effect.Effect<void, E> => Effect.withFiber((fiber) => run(fiber, ref, message) ?? Effect.void)

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
  // declared, set in the constructor: no field initializer function per tell or ask (see `AskDeadline`)
  declare readonly ref: unknown
  declare readonly message: unknown
  declare readonly run: Run
  constructor(ref: unknown, message: unknown, run: Run) {
    this.ref = ref
    this.message = message
    this.run = run
  }
  [EVALUATE](fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<unknown, unknown> {
    return this.run(fiber, this.ref, this.message) ?? (syncStep as Step).call(done, fiber)
  }
  [Symbol.iterator](): Once {
    return new Once(this)
  }
}

/** Whether the installed Effect runs a {@link Tell} as this module expects (see the module's doc). */
export const primitive: boolean = (() => {
  if (typeof syncStep !== "function") return false
  // an Effect like any other (pipe, toJSON, Effect.isEffect...): Effect.sync's prototype, with the step above
  Object.setPrototypeOf(Tell.prototype, syncProto)
  let runs = 0
  const probe = new Tell(undefined, undefined, () => {
    runs++
    return undefined
  }) as unknown as Effect.Effect<void>
  try {
    const exit = Effect.runSyncExit(
      Effect.gen(function* () {
        yield* probe
        const mapped = yield* Effect.map(probe, () => "mapped")
        yield* probe
        return `${mapped} ${runs}`
      })
    )
    return Effect.isEffect(probe) && Exit.isSuccess(exit) && exit.value === "mapped 3"
  } catch {
    return false
  }
})()
