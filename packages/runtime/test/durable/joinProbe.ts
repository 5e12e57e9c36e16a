/** A probe of the Joins a session participant receives (see `joinProbe`), for the admission tests. */
import type { Behavior } from "@troupe/runtime"

/**
 * How many sessions a participant has joined that have not begun (its first Join came, the Join saying the session
 * began did not yet): at most the sessions joining at once, and those between their last answer and their begin.
 *
 * @example
 * const probe = joinProbe()
 * const B = yield* ActorSystem.spawn(probe.wrap(bank(record)), { name: "B" })
 * // ... run sessions ...
 * expect(probe.most()).toBeLessThanOrEqual(cap)
 */
export const joinProbe = () => {
  const joined = new Set<string>()
  let most = 0
  const wrap = <B>(behavior: B): B => {
    const b = behavior as unknown as Behavior.Behavior<never, unknown>
    const receive = b.receive as unknown as Record<string, (s: unknown, m: never, ctx: unknown) => unknown>
    return {
      ...b,
      receive: {
        ...receive,
        Join: (s: unknown, m: { session: string; durable?: { begun: boolean } }, ctx: unknown) => {
          if (m.durable?.begun === true) joined.delete(m.session)
          else {
            joined.add(m.session)
            most = Math.max(most, joined.size)
          }
          return receive.Join!(s, m as never, ctx)
        }
      }
    } as unknown as B
  }
  const reset = () => {
    joined.clear()
    most = 0
  }
  return { wrap, most: () => most, reset }
}
