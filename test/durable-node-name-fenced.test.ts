/**
 * A process whose node name was taken over while it stalled stops its durable work at once and says so, with real
 * processes on a real SQLite file. A node of durable Ledger sessions (a `once` effect per deposit at the bank and at
 * the auditor, each appended to a file with the pid that ran it) runs its sessions; its `once` effects are held (they
 * wait while a file exists) and it is stopped with SIGSTOP. Its holder row is made to say another host (so that a
 * successor cannot see it alive and watches its heartbeat, as it would across hosts). A second process of the same
 * node name takes the name over once the heartbeat stood still for the lease (1 s), recovers the sessions and
 * completes them. Then the first is continued (SIGCONT):
 *
 * - it finds itself fenced (its heartbeat or next write batch) and stops its durable work: a `DurableStopped` event,
 *   each of its sessions' `await` fails with `NodeFenced` (not a step deadline or the session's deadline), and its
 *   held `once` effects never run, also once the hold is gone;
 * - every session completed with the right results by the second, every `once` effect ran, twice only when the stall
 *   cut the first's run before its commit.
 *
 * Before, the first went on: its roles ran their held `once` effects (their side effects after the takeover), failed
 * their writes with `NodeFenced` one after the other, and no one was told.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Storage } from "@troupe/runtime"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, describe, expect, it } from "vitest"
import * as Child from "./support/child.ts"
import * as Lines from "./support/lines.ts"
import type { Config, Event } from "./support/session-node.ts"

const SESSIONS = 3
/** Rounds a session: enough that the first stalls in the middle of each session (20 with TROUPE_LONG=1). */
const ROUNDS = process.env.TROUPE_LONG === "1" ? 20 : 8
const expected = { C: (ROUNDS * (ROUNDS + 1)) / 2, B: (ROUNDS * (ROUNDS + 1)) / 2, A: ROUNDS }
/** How long the successor watches the stalled holder's heartbeat before it takes the name over. */
const LEASE_MS = 1000

const dir = mkdtempSync(join(tmpdir(), "troupe-node-fenced-"))
afterAll(() => {
  Child.stopAll()
  rmSync(dir, { recursive: true, force: true })
})

/** Each line of the effects file: `<session>/<role>/<n> <time> <pid>`. */
const linesOf = (file: string) =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [key, , pid] = line.split(" ") as [string, string, string]
      return { key, pid }
    })

const until = async (condition: () => boolean, timeoutMs: number) => {
  const since = Date.now()
  while (!condition()) {
    if (Date.now() - since > timeoutMs) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}

/** Makes the holder row of `node` say another host (as a holder elsewhere would be seen): alive or dead is not known. */
const holderElsewhere = (filename: string, node: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ holder: string }>`SELECT holder FROM troupe_nodes WHERE node = ${node}`
      const holder = { ...JSON.parse(row!.holder), host: "another-host", boot: "another-boot" }
      yield* sql`UPDATE troupe_nodes SET holder = ${JSON.stringify(holder)} WHERE node = ${node}`
    }).pipe(Effect.provide(Storage.sqliteClient({ filename })))
  )

describe("a process whose node name was taken over while it stalled", () => {
  it("stops its durable work at once and says so: NodeFenced to whoever waits, no held once effect runs", async () => {
    const sqlite = join(dir, "fenced.db")
    const effects = join(dir, "effects.txt")
    const hold = join(dir, "hold")
    writeFileSync(effects, "")
    const config: Config = {
      node: "n1",
      sqlite,
      roles: ["C", "B", "A"],
      coordinate: true,
      sessions: SESSIONS,
      rounds: ROUNDS,
      effects,
      deadlineMs: 120_000,
      stepMs: 100,
      nodeLeaseMs: LEASE_MS,
      hold
    }
    const first = await Lines.start<Event>("session-node.ts", config)
    const firstPid = String(first.child.process.pid!)
    expect(await until(() => linesOf(effects).length > 0, 120_000), "the first ran once effects").toBe(true)
    // its once effects wait from now on; it stalls, and its row says another host
    writeFileSync(hold, "")
    await holderElsewhere(sqlite, "n1")
    process.kill(first.child.process.pid!, "SIGSTOP")
    // the second takes the name over after the lease (its heartbeat stands still), and completes every session
    const { hold: _, ...unheld } = config
    const second = await Lines.start<Event>("session-node.ts", unheld)
    expect(await second.until((es) => es.some((e) => e.event === "recovered"), 120_000)).toBe(true)
    expect(await second.until((es) => es.filter((e) => e.event === "outcome").length >= SESSIONS, 240_000)).toBe(true)
    for (let s = 0; s < SESSIONS; s++)
      expect(second.events.find((e) => e.event === "outcome" && e.session === `s-${s}`)).toMatchObject({
        completed: expected
      })
    // the first goes on: it finds itself fenced and stops its durable work
    process.kill(first.child.process.pid!, "SIGCONT")
    const reported = await first.until((es) => es.some((e) => e.event === "fenced"), 30_000)
    // what it ran so far (an effect past its hold when it stalled ends as it continues: a side effect in flight)
    const ranBefore = linesOf(effects).filter((l) => l.pid === firstPid).length
    rmSync(hold)
    // its held effects would run now (each takes 100 ms): none may
    await until(() => linesOf(effects).filter((l) => l.pid === firstPid).length > ranBefore, 3000)
    const ranAfter = linesOf(effects).filter((l) => l.pid === firstPid).length
    expect(ranAfter - ranBefore, "once effects the first ran after it was taken over").toBe(0)
    expect(reported, `the first said it stopped; its stderr:\n${first.child.stderr().slice(-3000)}`).toBe(true)
    expect(first.events.find((e) => e.event === "fenced")).toMatchObject({ sessions: SESSIONS })
    // whoever waited for its sessions got NodeFenced, not a deadline
    expect(await first.until((es) => es.filter((e) => e.event === "outcome").length >= SESSIONS, 30_000)).toBe(true)
    for (let s = 0; s < SESSIONS; s++)
      expect(first.events.find((e) => e.event === "outcome" && e.session === `s-${s}`)).toMatchObject({
        aborted: "NodeFenced"
      })
    expect(first.child.stderr()).toContain("This process lost the node name")
    // every effect ran; twice only when the stall cut the first's run before its commit: once by each process, in
    // either order in the file (an effect the first was running when it stalled writes its line when it continues,
    // after the second's: [second, first] in a fresh-clone CI)
    const runs = new Map<string, Array<string>>()
    for (const { key, pid } of linesOf(effects)) runs.set(key, [...(runs.get(key) ?? []), pid])
    expect(runs.size).toBe(SESSIONS * ROUNDS * 2)
    const secondPid = String(second.child.process.pid!)
    for (const [key, pids] of runs)
      if (pids.length > 1) expect([...pids].sort(), key).toEqual([firstPid, secondPid].sort())
    await first.kill()
    await second.kill()
  }, 400_000)
})
