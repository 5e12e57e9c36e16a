/**
 * A remote ask's wait for its reply as one suspension of the caller's fiber: the ask's step sends, then suspends
 * its fiber ({@link suspend}); the reply's callback resumes it ({@link resume}). It is what `Effect.callback` does,
 * without the callback's primitive, its closures and the finalizer frame it pushes and pops per wait (the ask
 * itself hears of an interruption, through `woken`).
 *
 * It relies on how Effect 4 (4.1) suspends and resumes a fiber: a step that returns `fiber.yieldWith(f)` (with a
 * function `f`) suspends the fiber; `fiber.evaluate(effect)` resumes it, in the async context captured when it
 * suspended, after calling `f`; interrupting the suspended fiber calls `f` too, then runs the interruption.
 * `effect` is a peer dependency, so this module checks at load that the installed Effect does that (a probe
 * fiber suspended, resumed, and suspended and interrupted); if not, {@link suspends} is false and asks wait
 * through `Effect.callback` (the same behaviour, more allocation per ask). packages/runtime/test/fiberWait.test.ts
 * holds both to the same behaviour.
 */
import { Cause, Effect, Exit, type Fiber } from "effect"

/** The two methods of Effect's fiber (`FiberImpl` in effect/internal/effect.js) this module uses. */
interface Suspendable {
  yieldWith(woken: () => void): unknown
  evaluate(effect: Effect.Effect<unknown, unknown>): void
}

/**
 * Suspends `fiber` at the end of the step that returns this (a primitive's step, or `Effect.withFiber`'s):
 * `woken` is called once, when the fiber runs again, by {@link resume} or by its interruption.
 *
 * @example
 * ```ts
 * Effect.withFiber((fiber) => {
 *   waiting = fiber
 *   return suspend(fiber, () => (interrupted = waiting !== undefined))
 * })
 * // later, from a callback: the fiber goes on with 42
 * const fiber = waiting
 * waiting = undefined
 * resume(fiber, Exit.succeed(42))
 * ```
 */
export const suspend = (fiber: Fiber.Fiber<unknown, unknown>, woken: () => void): Effect.Effect<never> =>
  (fiber as unknown as Suspendable).yieldWith(woken) as Effect.Effect<never>

/**
 * Resumes a fiber that {@link suspend} suspended, with `exit` as its step's result (once: the caller forgets the
 * fiber first, so that its `woken` tells this resumption from an interruption).
 *
 * @example
 * ```ts
 * resume(fiber, Exit.succeed(42))
 * ```
 */
export const resume = (fiber: Fiber.Fiber<unknown, unknown>, exit: Exit.Exit<unknown, unknown>): void =>
  (fiber as unknown as Suspendable).evaluate(exit)

/** Whether the installed Effect suspends, resumes and interrupts as {@link suspend} expects (see the module's doc). */
export const suspends: boolean = (() => {
  try {
    let waiting: Fiber.Fiber<unknown, unknown> | undefined
    let calls = 0
    /** How often `woken` was called (a function: read after calls the compiler does not see). */
    const woken = (): number => calls
    const step = Effect.withFiber<number>((fiber) => {
      if (typeof (fiber as unknown as Partial<Suspendable>).yieldWith !== "function") return Effect.die("no yieldWith")
      waiting = fiber
      return suspend(fiber, () => {
        calls++
      })
    })
    const resumed = Effect.runFork(Effect.map(step, (n) => n + 1))
    const first = waiting
    if (first === undefined || resumed.pollUnsafe() !== undefined || woken() !== 0) return false
    waiting = undefined
    resume(first, Exit.succeed(41))
    const exit = resumed.pollUnsafe()
    if (exit === undefined || !Exit.isSuccess(exit) || exit.value !== 42 || woken() !== 1) return false
    const interrupted = Effect.runFork(step)
    if (waiting === undefined || interrupted.pollUnsafe() !== undefined) return false
    interrupted.interruptUnsafe()
    const end = interrupted.pollUnsafe()
    return end !== undefined && Exit.isFailure(end) && Cause.hasInterruptsOnly(end.cause) && woken() === 2
  } catch {
    return false
  }
})()
