/**
 * A durable session across two processes on the WebSocket transport (a SQLite file each): n1 coordinates and plays the
 * client (C) and the auditor (A), n2 plays the bank (B). n2 is stopped (SIGSTOP) in the middle of the session while
 * the client waits for its receipt, longer than the client's step deadline. The coordinator's lease join to the bank
 * goes unanswered, so the bank is unreachable and the other roles' step deadlines do not count meanwhile: a node back
 * (SIGCONT) within the session's deadline lets the session complete; one that never comes back fails it with
 * `SessionNodeLost` at the session's deadline, not with a `StepTimeout`.
 *
 * Runs in the cluster pass (`TROUPE_CLUSTER=1`): four node processes, about 25 s.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Child from "./support/child.ts"
import * as Lines from "./support/lines.ts"
import type { Config, Event } from "./support/session-node.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-session-reach-"))
afterAll(() => {
  Child.stopAll()
  rmSync(dir, { recursive: true, force: true })
})

const ROUNDS = 10

/**
 * Runs one session on a fresh pair of nodes; stops the bank's node (SIGSTOP) once the bank has handled its third
 * deposit, for `stallMillis` (for ever when undefined). Answers the session's outcome as the coordinator reports it.
 */
const stalledSession = async (name: string, stallMillis: number | undefined) => {
  const effects = join(dir, `${name}-effects.txt`)
  writeFileSync(effects, "")
  const ports = [await Child.freePort(), await Child.freePort()]
  const nodes = [`${name}-1`, `${name}-2`] as const
  const placement = { C: nodes[0], B: nodes[1], A: nodes[0] }
  const at = (i: 0 | 1): Config => ({
    node: nodes[i],
    // a file each: a node stopped while it holds the write lock of a shared file would hold the other's writes for
    // good (SQLite has no server to end its transaction; failed CI: "database is locked" storing the abort)
    sqlite: join(dir, `${nodes[i]}.db`),
    roles: i === 0 ? ["C", "A"] : ["B"],
    coordinate: i === 0,
    sessions: i === 0 ? 1 : 0,
    rounds: ROUNDS,
    effects,
    // the lease asks every second; the step deadline is 5 s, the stall 8 s
    deadlineMs: 15_000,
    stepTimeoutMs: 5000,
    stepMs: 20,
    port: ports[i]!,
    peers: [{ node: nodes[1 - i], url: `ws://127.0.0.1:${ports[1 - i]}` }],
    placement
  })
  const bank = await Lines.start<Event>("session-node.ts", at(1))
  const coordinator = await Lines.start<Event>("session-node.ts", at(0))
  await new Promise<void>((resolve) => {
    const check = () => (readFileSync(effects, "utf8").includes("/B/3 ") ? resolve() : setTimeout(check, 5))
    check()
  })
  bank.child.process.kill("SIGSTOP")
  if (stallMillis !== undefined) setTimeout(() => bank.child.process.kill("SIGCONT"), stallMillis)
  const ended = await coordinator.until((es) => es.some((e) => e.event === "outcome"), 60_000)
  const outcome = coordinator.events.find((e) => e.event === "outcome")
  const stderr = `n1 stderr:\n${coordinator.child.stderr().slice(-2000)}\nn2 stderr:\n${bank.child.stderr().slice(-2000)}`
  await coordinator.kill()
  await bank.kill()
  return { ended, outcome, stderr }
}

const clusterEnabled = process.env.TROUPE_CLUSTER === "1"

describe.skipIf(!clusterEnabled)("a durable session whose role's node stops (SIGSTOP) mid-session", () => {
  it("does not count the other roles' steps meanwhile: completes when the node is back; fails with SessionNodeLost when it never is", async () => {
    const [stalled, gone] = await Promise.all([stalledSession("stall", 8000), stalledSession("gone", undefined)])
    expect(stalled.ended, stalled.stderr).toBe(true)
    expect(stalled.outcome, stalled.stderr).toMatchObject({
      completed: { C: (ROUNDS * (ROUNDS + 1)) / 2, B: (ROUNDS * (ROUNDS + 1)) / 2, A: ROUNDS }
    })
    expect(gone.ended, gone.stderr).toBe(true)
    expect(gone.outcome, gone.stderr).toMatchObject({ aborted: "SessionNodeLost" })
  }, 180_000)
})
