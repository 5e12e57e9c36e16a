/** Calling a user's message handler safely. */
import { Effect } from "effect"

/**
 * Calls a handler; a handler that throws instead of returning an effect has a defect.
 *
 * @example
 * const out = callHandler(handlers[message._tag], state, message, ctx) // Effect.die(error) if it threw
 */
export const callHandler = <A, B, C>(
  handler: (a: A, b: B, c: C) => Effect.Effect<unknown, unknown, unknown>,
  a: A,
  b: B,
  c: C
): Effect.Effect<unknown, unknown, unknown> => {
  try {
    return handler(a, b, c)
  } catch (defect) {
    return Effect.die(defect)
  }
}
