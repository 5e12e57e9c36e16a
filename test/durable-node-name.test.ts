/**
 * One live process per node name and storage, with real processes on a real SQLite file and a real PostgreSQL
 * server. A node of durable Ledger sessions (a `once` effect per deposit at the bank and at the auditor, each
 * appended to a file with the pid that ran it) runs its sessions; then:
 *
 * - a second process with the same node name on the same storage is started while the first runs them: it is
 *   refused, typed (`NodeNameTaken`, naming the node, the storage and the holder's pid), recovers nothing, and the
 *   first completes every session with every `once` effect run exactly once and the right results (each message
 *   delivered once). Without the claim the second recovered the same sessions and ran their effects again.
 * - the first is killed with SIGKILL and a new one is started at once: it takes the name over without waiting for
 *   the lease (the holder is on this host and dead), well within it, and completes every session.
 *
 * The default suite runs both on SQLite with sessions of 5 rounds; `TROUPE_LONG=1` on PostgreSQL too, with 20.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { databases } from "../packages/runtime/test/durable/databases.ts"
import * as Child from "./support/child.ts"
import * as Lines from "./support/lines.ts"
import type { Config, Event } from "./support/session-node.ts"

/** PostgreSQL's runs (about 30 s of child processes) and 20 rounds with `TROUPE_LONG=1`, run by `.ci/run` after the default suite. */
const long = process.env.TROUPE_LONG === "1"
const SESSIONS = 3
/** Rounds a session: each runs 2 `once` effects of `stepMs` (300 ms) each; 5 rounds keep a session 3 s long. */
const ROUNDS = long ? 20 : 5
const expected = { C: (ROUNDS * (ROUNDS + 1)) / 2, B: (ROUNDS * (ROUNDS + 1)) / 2, A: ROUNDS }
/** The lease of the SIGKILL test: a takeover that waited for it would take a minute. */
const LEASE_MS = 60_000

const dir = mkdtempSync(join(tmpdir(), "troupe-node-name-"))
afterAll(() => {
  Child.stopAll()
  rmSync(dir, { recursive: true, force: true })
})

/** Each line of the effects file: `<session>/<role>/<n> <time> <pid>`; the runs of each effect, in order. */
const runsOf = (file: string) => {
  const runs = new Map<string, Array<string>>()
  for (const line of readFileSync(file, "utf8").trim().split("\n")) {
    if (line === "") continue
    const [key, , pid] = line.split(" ") as [string, string, string]
    runs.set(key, [...(runs.get(key) ?? []), pid])
  }
  return runs
}

const everyEffect = function* () {
  for (let s = 0; s < SESSIONS; s++)
    for (const role of ["B", "A"]) for (let n = 1; n <= ROUNDS; n++) yield `s-${s}/${role}/${n}`
}

/** Waits (polling) until the effects file has a line: the node is in the middle of its sessions. */
const effectsBegun = async (file: string, timeoutMs = 120_000) => {
  const since = Date.now()
  while (readFileSync(file, "utf8").length === 0) {
    if (Date.now() - since > timeoutMs) throw new Error(`no once effect ran within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const outcomesOf = (node: Lines.Driven<Event>) =>
  node.events.filter((e): e is Extract<Event, { event: "outcome" }> => e.event === "outcome")

for (const db of databases({ postgres: long })) {
  describe(`one live process per node name, on ${db.name}`, () => {
    const configOf = async (name: string, extra: Partial<Config> = {}): Promise<Config> => {
      const location = await db.fresh()
      const effects = join(dir, `effects-${name}-${db.name}.txt`)
      writeFileSync(effects, "")
      return {
        node: "n1",
        ...(db.name === "sqlite" ? { sqlite: location } : { postgres: location }),
        roles: ["C", "B", "A"],
        coordinate: true,
        sessions: SESSIONS,
        rounds: ROUNDS,
        effects,
        deadlineMs: 60_000,
        // sessions long enough for a kill to land in them
        stepMs: 300,
        ...extra
      }
    }

    it("refuses a second process with the same node name: every once effect runs once, every session completes", async () => {
      const hold = join(dir, `hold-${db.name}`)
      const config = await configOf("twice", { hold })
      const first = await Lines.start<Event>("session-node.ts", config)
      const holder = first.child.process.pid!
      // the first is in the middle of its sessions, and held there (its `once` effects wait) until the second is done
      await effectsBegun(config.effects)
      writeFileSync(hold, "")
      const second = await Lines.start<Event>("session-node.ts", config)
      // false once it exited (refused); true if it recovered the node's sessions (and ran them too)
      const recovered = await second.until((es) => es.some((e) => e.event === "recovered"), 120_000)
      const running = outcomesOf(first).length < SESSIONS
      rmSync(hold)
      expect(await first.until((es) => es.filter((e) => e.event === "outcome").length >= SESSIONS, 240_000)).toBe(true)
      if (recovered) await second.until((es) => es.filter((e) => e.event === "outcome").length >= SESSIONS, 240_000)
      await second.kill()
      const runs = runsOf(config.effects)
      for (const key of everyEffect()) expect(runs.get(key), `pids that ran ${key}`).toEqual([String(holder)])
      expect(runs.size).toBe(SESSIONS * ROUNDS * 2)
      for (let s = 0; s < SESSIONS; s++)
        expect(outcomesOf(first).find((e) => e.session === `s-${s}`)).toMatchObject({ completed: expected })
      const exit = await second.child.exit
      expect(recovered).toBe(false)
      expect(exit.code, `the second process's exit; stderr:\n${exit.stderr.slice(-3000)}`).toBe(1)
      expect(exit.stderr).toContain("NodeNameTaken")
      expect(exit.stderr).toContain('"n1"')
      expect(exit.stderr).toContain(`process ${holder} on host`)
      expect(exit.stderr).toContain(db.name === "sqlite" ? config.sqlite! : "PostgreSQL at")
      expect(exit.stderr).toContain("What to do")
      // (the refusal counts only if it came while the first still ran sessions)
      expect(running, "the first process had ended its sessions before the second came").toBe(true)
      await first.kill()
    }, 400_000)

    it("takes the name over at once after SIGKILL of its holder, without waiting for the lease", async () => {
      const config = await configOf("killed", { nodeLeaseMs: LEASE_MS })
      const first = await Lines.start<Event>("session-node.ts", config)
      const killed = String(first.child.process.pid!)
      await effectsBegun(config.effects)
      await first.kill()
      const second = await Lines.start<Event>("session-node.ts", config)
      const readyAt = second.times[second.events.findIndex((e) => e.event === "ready")]!
      expect(await second.until((es) => es.some((e) => e.event === "recovered"), 120_000)).toBe(true)
      const recoveredAt = second.times[second.events.findIndex((e) => e.event === "recovered")]!
      // the claim is the recovery's first step: it did not wait for the 60 s lease of the killed holder
      expect(recoveredAt - readyAt).toBeLessThan(LEASE_MS / 2)
      const recovered = second.events.find((e) => e.event === "recovered") as { readonly sessions: number }
      expect(recovered.sessions).toBeGreaterThan(0)
      expect(await second.until((es) => es.filter((e) => e.event === "outcome").length >= SESSIONS, 240_000)).toBe(true)
      for (let s = 0; s < SESSIONS; s++)
        expect(outcomesOf(second).find((e) => e.session === `s-${s}`)).toMatchObject({ completed: expected })
      // every effect ran; twice only when the kill cut its first run (by the killed process) before its commit
      const runs = runsOf(config.effects)
      for (const key of everyEffect()) {
        const pids = runs.get(key) ?? []
        expect(pids.length, key).toBeGreaterThan(0)
        if (pids.length > 1) expect(pids, key).toEqual([killed, String(second.child.process.pid)])
      }
      await second.kill()
    }, 400_000)
  })
}
