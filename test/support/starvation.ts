/**
 * When this node's event loop could not run: a 10 ms interval that fires late marks the time past its due as
 * starved (the node was not scheduled, or was busy in one long step); the latest such spans are kept.
 *
 * @example
 * const starvedBetween = starvation()
 * // later: how long of [start, now] this process could not run
 * const starved = starvedBetween(start, Date.now())
 */
export const starvation = () => {
  const TICK_MS = 10
  const spans: Array<readonly [from: number, to: number]> = []
  let last = Date.now()
  const timer = setInterval(() => {
    const at = Date.now()
    if (at - last > 2 * TICK_MS) {
      spans.push([last + TICK_MS, at])
      if (spans.length > 20_000) spans.splice(0, 10_000)
    }
    last = at
  }, TICK_MS)
  timer.unref()
  /** How long the event loop could not run between `from` and `to` (now at the latest). */
  return (from: number, to: number): number => {
    // the span going on now (the interval is overdue: this code runs before it does)
    const overdue = Date.now() - (last + TICK_MS) > TICK_MS ? Math.max(0, to - Math.max(last + TICK_MS, from)) : 0
    let starved = overdue
    for (let i = spans.length - 1; i >= 0; i--) {
      const [start, end] = spans[i]!
      if (end <= from) break
      starved += Math.max(0, Math.min(end, to) - Math.max(start, from))
    }
    return starved
  }
}
