/** Probability distributions over a player's moves. */

/** Each of `n` moves alike. */
export const uniform = (n: number): ReadonlyArray<number> => Array.from({ length: n }, () => 1 / n)

/** `ps` scaled to sum to 1 (uniform when they sum to 0). */
export const normalise = (ps: ReadonlyArray<number>): ReadonlyArray<number> => {
  const total = ps.reduce((s, p) => s + p, 0)
  return total > 0 ? ps.map((p) => p / total) : uniform(ps.length)
}
