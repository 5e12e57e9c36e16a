/**
 * What the peer-trust attack files share (`peer-trust.test.ts`, `peer-trust-resources.test.ts`): attackers run in a
 * pool, waits for what a node logged, and the check that the well-behaved peer's asks all succeeded.
 */
import { expect } from "vitest"
import { HANG_MILLIS } from "./child.ts"
import type { GoodPeer } from "./target-node.ts"

/**
 * Runs `task` for 0..n-1, at most `concurrency` at a time.
 *
 * @example
 * const sockets = await pool(2_000, 200, () => tcp(target.url, "127.0.0.2"))
 */
export const pool = async <A>(n: number, concurrency: number, task: (i: number) => Promise<A>): Promise<Array<A>> => {
  const results: Array<A> = new Array(n)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++
        results[i] = await task(i)
      }
    })
  )
  return results
}

/**
 * Waits until `predicate` holds, checking every 50 ms; fails after `timeout` ms saying what it waited for.
 *
 * @example
 * await until("the summary line", () => target.warnings().some((line) => /suppressed/.test(line)))
 */
export const until = async (what: string, predicate: () => boolean, timeout = HANG_MILLIS) => {
  const deadline = Date.now() + timeout
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * The well-behaved peer still gets answers after an attack, and none of its asks failed.
 *
 * @example
 * await expectAllAnswered(good)
 */
export const expectAllAnswered = async (good: GoodPeer) => {
  await good.progress(5) // still answering after the attack
  expect(good.failures()).toEqual([])
  expect(good.ok()).toBeGreaterThan(5)
}
