/**
 * Durable actors and messages under kill -9: a process with durable accounts is killed at random points
 * (inside a handler, between the commit and the acknowledgement, or from outside at a random moment), started
 * again on the same storage, and sent again whatever it had not acknowledged (same ids). At the end every
 * deposit is applied exactly once, on SQLite and on PostgreSQL.
 *
 * The default suite kills two incarnations per database; `TROUPE_LONG=1` (run by `.ci/run` after the default
 * suite) kills six, and `TROUPE_SOAK=1` many more, with more deposits.
 */
import { afterAll, describe, expect, it } from "vitest"
import { databases } from "../packages/runtime/test/durable/databases.ts"
import * as Child from "./support/child.ts"
import type { Config } from "./support/durable-node.ts"
import * as Lines from "./support/lines.ts"

type Event =
  | { readonly event: "ready" }
  | { readonly event: "ack"; readonly ref: string; readonly balance: number }
  | {
      readonly event: "report"
      readonly account: string
      readonly state: { readonly balance: number; readonly applied: Record<string, number> }
    }
  | { readonly event: "failed"; readonly error: string }

const soak = process.env.TROUPE_SOAK === "1"
/** Minutes of child processes: the full size runs in `.ci/run` after the default suite (README, "Tests"). */
const long = process.env.TROUPE_LONG === "1"
const DEPOSITS = soak ? 2000 : long ? 240 : 120
const KILLS = soak ? 40 : long ? 6 : 2
const ACCOUNTS = 6

afterAll(() => Child.stopAll())

for (const db of databases()) {
  describe(`kill -9 of a process with durable accounts, on ${db.name}`, () => {
    it("loses no acknowledged deposit and applies none twice", async () => {
      const seed = Number(process.env.TROUPE_SEED ?? Date.now() % 1_000_000)
      const rand = Lines.random(seed)
      const location = await db.fresh()
      const where: Config = db.name === "sqlite" ? { sqlite: location } : { postgres: location }
      const deposits = Array.from({ length: DEPOSITS }, (_, i) => ({
        ref: `d-${i}`,
        account: `acct-${i % ACCOUNTS}`,
        amount: 1 + (i % 7)
      }))
      // deposits come in waves, one per incarnation, so that every incarnation has new work as well as the
      // deposits its predecessor did not acknowledge
      const waves = Array.from({ length: KILLS + 1 }, (_, w) => deposits.filter((_, i) => i % (KILLS + 1) === w))
      const pending = new Map<string, (typeof deposits)[number]>()
      const log: Array<string> = []
      let command = 0
      const reports: Array<Event> = []
      for (let incarnation = 0; pending.size > 0 || incarnation <= KILLS; incarnation++) {
        for (const d of waves[incarnation] ?? []) pending.set(d.ref, d)
        const killing = incarnation < KILLS
        const how = killing ? (["handler", "after-commit", "outside"] as const)[Math.floor(rand() * 3)]! : "none"
        const nth = 1 + Math.floor(rand() * pending.size)
        const config: Config =
          how === "handler" || how === "after-commit" ? { ...where, kill: { at: how, nth } } : where
        const node = await Lines.start<Event>("durable-node.ts", config)
        const sent = [...pending.values()]
        for (const d of sent)
          node.send({ id: ++command, cmd: "deposit", account: d.account, amount: d.amount, ref: d.ref })
        if (how === "outside") setTimeout(() => void node.kill(), 5 + Math.floor(rand() * 300))
        const all = await node.until((es) => es.filter((e) => e.event === "ack").length >= sent.length)
        for (const e of node.events) if (e.event === "ack") pending.delete(e.ref)
        const failed = node.events.filter((e) => e.event === "failed")
        expect(failed, JSON.stringify(failed)).toEqual([])
        log.push(
          `${incarnation}: ${how}${how === "handler" || how === "after-commit" ? ` #${nth}` : ""}, ${all ? "all acked" : `died, ${pending.size} pending`}`
        )
        if (!killing) {
          expect(all, `the last incarnation acknowledges everything (seed ${seed})`).toBe(true)
          // and reports every account as stored
          for (let a = 0; a < ACCOUNTS; a++) node.send({ id: ++command, cmd: "report", account: `acct-${a}` })
          await node.until((es) => es.filter((e) => e.event === "report").length === ACCOUNTS)
          reports.push(...node.events)
        }
        await node.kill()
      }
      const applied: Record<string, number> = {}
      let balance = 0
      for (const e of reports) {
        if (e.event !== "report") continue
        balance += e.state.balance
        for (const [ref, n] of Object.entries(e.state.applied)) applied[ref] = (applied[ref] ?? 0) + n
      }
      const context = `seed ${seed}; ${log.join("; ")}`
      expect(Object.keys(applied).length, context).toBe(DEPOSITS)
      expect(
        Object.entries(applied).filter(([, n]) => n !== 1),
        context
      ).toEqual([])
      expect(balance, context).toBe(deposits.reduce((sum, d) => sum + d.amount, 0))
    }, 300_000)
  })
}
