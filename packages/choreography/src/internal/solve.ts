/**
 * Two ways to compute over protocols of any size without recursion (a protocol of 3,000 steps, or 1,000
 * nested levels, must not overflow the call stack): a task stack for walks, and a memoised evaluator for
 * values defined over a graph (projections, merges), so that each value is computed once.
 */

/** Runs tasks until none is left; a task may push more (last pushed, first run). */
export const drain = (tasks: Array<() => void>): void => {
  while (tasks.length > 0) tasks.pop()!()
}

/** One memoised value: `value` is set once computed. */
export interface Cell<V> {
  value: V | undefined
  /** Set while the cell's step waits for its dependencies. */
  waiting?: boolean
}

/** The checker met a cycle it does not expect: a bug, reported as such rather than as an endless loop. */
export class CycleError extends Error {}

/**
 * What to do when a value depends on itself (optional): `cycle(dep)` answers a stand-in for the value of
 * `dep`, an ancestor of the cell being computed (`undefined`: the cycle is a bug); `close(cell, value)`
 * turns the value of a cell that stand-ins were handed out for into its final value.
 */
export interface Cycles<V, C> {
  readonly cycle: (dep: C) => V | undefined
  readonly close: (cell: C, value: V) => V
}

/**
 * Computes `root.value`. `step(cell, need)` computes one cell: it calls `need(dep)` for each cell it
 * depends on, which answers the dependency's value, or `undefined` when it is not computed yet; a step
 * that met an undefined dependency answers `undefined` and is run again once every dependency it asked
 * for is computed. Each cell is computed once (a value a cycle made may be dropped by `close` and
 * computed again); steps are run again at most once per dependency they discover, so the cost is that of
 * a recursive memoised computation, on an explicit stack.
 */
export const evaluate = <V, C extends Cell<V>>(
  root: C,
  step: (cell: C, need: (dep: C) => V | undefined) => V | undefined,
  cycles?: Cycles<V, C>
): V => {
  if (root.value !== undefined) return root.value
  const stack: Array<C> = [root]
  const missing: Array<C> = []
  const closing = new Set<C>()
  let current: C = root
  const need = (dep: C): V | undefined => {
    if (dep.value !== undefined) return dep.value
    if ((dep.waiting || dep === current) && cycles !== undefined) {
      const standIn = cycles.cycle(dep)
      if (standIn !== undefined) {
        closing.add(dep)
        return standIn
      }
    }
    if (!missing.includes(dep)) missing.push(dep)
    return undefined
  }
  while (stack.length > 0) {
    const cell = stack[stack.length - 1]!
    if (cell.value !== undefined) {
      stack.pop()
      continue
    }
    missing.length = 0
    current = cell
    const value = step(cell, need)
    if (value !== undefined) {
      cell.waiting = false
      cell.value = closing.delete(cell) && cycles !== undefined ? cycles.close(cell, value) : value
      stack.pop()
      continue
    }
    if (missing.length === 0) throw new CycleError("a step answered nothing and needs nothing")
    cell.waiting = true
    for (const dep of missing) {
      // A dependency already waiting is an ancestor of this cell (or the cell): the values form a cycle.
      if (dep.waiting || dep === cell) throw new CycleError("a value depends on itself")
      stack.push(dep)
    }
  }
  return root.value as V
}
