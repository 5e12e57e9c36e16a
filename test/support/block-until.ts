/**
 * Keeping this process's thread busy until another process has written its reply: the tests of deadlines judged
 * after the I/O already waiting was read (test/remote-deadline-io, runtime test/cluster/ClusterRefDeadline) block
 * their loop past an ask's deadline while the other side answers, so that the reply waits unread in the socket when
 * the deadline's timer runs.
 */
import { existsSync } from "node:fs"

/** How long the other process may take to answer while this one blocks (only a hang takes this long). */
export const HANG_MS = 60_000

/**
 * Keeps the thread until `marker` exists (the other process marked its reply as written) and the deadline is `past`
 * ms behind: the reply is then in this process's socket, unread. Throws, naming `who`, after {@link HANG_MS}.
 *
 * @example
 * ```ts
 * queueMicrotask(() => blockUntil(marker, asked + DEADLINE_MS, 50, "the callee"))
 * ```
 */
export const blockUntil = (marker: string, deadline: number, past: number, who: string): void => {
  const started = Date.now()
  while (!existsSync(marker) || Date.now() < deadline + past) {
    if (Date.now() - started > HANG_MS) throw new Error(`${who} did not answer within ${HANG_MS} ms`)
  }
}
