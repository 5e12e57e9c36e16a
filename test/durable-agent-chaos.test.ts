/**
 * Durable agents under kill -9: a process whose agents think with the real OpenAI SDK against an OpenAI-wire
 * test server (in this process) is killed during model calls, inside a tool, or at a random moment, and
 * started again on the same storage; the test sends again the questions it had not answered (same ids).
 * At the end every question is in its agent's conversation exactly once, the stored usage counts each
 * journaled call once, and no model call whose answer had been journaled was sent again. SQLite and
 * PostgreSQL. The default suite kills two incarnations per database; `TROUPE_LONG=1` (run by `.ci/run` after the
 * default suite) kills five, and `TROUPE_SOAK=1` many more.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { OpenAiTestServer, Turn } from "@troupe/llm"
import { Effect, Exit, Scope } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { databases } from "../packages/runtime/test/durable/databases.ts"
import type { Config } from "./support/agent-node.ts"
import * as Child from "./support/child.ts"
import * as Lines from "./support/lines.ts"

type Event =
  | { readonly event: "ready" }
  | { readonly event: "answer"; readonly ref: string; readonly answer: string }
  | { readonly event: "report"; readonly agent: string; readonly state: AgentState }
  | { readonly event: "failed"; readonly error: string }

interface AgentState {
  readonly transcript: ReadonlyArray<{ readonly _tag: string; readonly text?: string }>
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number }
  readonly calls: number
  readonly turns: number
}

const soak = process.env.TROUPE_SOAK === "1"
/** Minutes of child processes: the full size runs in `.ci/run` after the default suite (README, "Tests"). */
const long = process.env.TROUPE_LONG === "1"
const QUESTIONS = soak ? 200 : long ? 24 : 12
const KILLS = soak ? 30 : long ? 5 : 2
const AGENTS = 4
const DELAY = 25

const dir = mkdtempSync(join(tmpdir(), "troupe-agents-"))
afterAll(() => {
  Child.stopAll()
  rmSync(dir, { recursive: true, force: true })
})

for (const db of databases()) {
  describe(`kill -9 of a process with durable agents, on ${db.name}`, () => {
    it("answers every question once, and never sends a journaled model call again", async () => {
      const seed = Number(process.env.TROUPE_SEED ?? Date.now() % 1_000_000)
      const rand = Lines.random(seed)
      const location = await db.fresh()
      const notes = join(dir, `notes-${db.name}.txt`)
      writeFileSync(notes, "")
      // the model: note the question down, then answer it; every request recorded; kills planned by the test
      /** Every model request: its question, its step, when it came, and from which process (0, 1, …). */
      const requests: Array<{ q: string; step: number; at: number; process: number }> = []
      let processes = 0
      const kills: Array<number> = []
      let current: Lines.Driven<Event> | undefined
      let killAtRequest = -1
      let requestsThisIncarnation = 0
      const script = (request: Turn.Request): Turn.Turn => {
        const users = request.messages.filter((m) => m._tag === "User")
        const q = users.at(-1)?._tag === "User" ? (users.at(-1) as { text: string }).text : "?"
        const step = request.messages.at(-1)?._tag === "User" ? 0 : 1
        requests.push({ q, step, at: Date.now(), process: processes - 1 })
        if (++requestsThisIncarnation === killAtRequest && current !== undefined) {
          kills.push(Date.now())
          current.child.process.kill("SIGKILL")
        }
        const usage = { inputTokens: 10, outputTokens: 2 }
        return step === 0
          ? Turn.toolCall("note", { text: q }, { usage, delay: `${DELAY} millis` })
          : Turn.text(`answer to ${q}`, { usage, delay: `${DELAY} millis` })
      }
      const scope = Effect.runSync(Scope.make())
      const server = await Effect.runPromise(Scope.provide(OpenAiTestServer.make(script), scope))
      try {
        const where = db.name === "sqlite" ? { sqlite: location } : { postgres: location }
        const base: Config = { ...where, model: server.url, notes }
        const questions = Array.from({ length: QUESTIONS }, (_, i) => ({
          ref: `q-${i}`,
          agent: `user-${i % AGENTS}`,
          prompt: `question ${i}`
        }))
        const waves = Array.from({ length: KILLS + 1 }, (_, w) => questions.filter((_, i) => i % (KILLS + 1) === w))
        const pending = new Map<string, (typeof questions)[number]>()
        const log: Array<string> = []
        /** When the test saw each question's answer (its turn committed). */
        const answeredAt = new Map<string, number>()
        let command = 0
        const reports: Array<Event> = []
        for (let incarnation = 0; pending.size > 0 || incarnation <= KILLS; incarnation++) {
          for (const q of waves[incarnation] ?? []) pending.set(q.ref, q)
          const killing = incarnation < KILLS
          const how = killing ? (["model", "tool", "outside"] as const)[Math.floor(rand() * 3)]! : "none"
          const nth = 1 + Math.floor(rand() * (pending.size + 2))
          requestsThisIncarnation = 0
          killAtRequest = how === "model" ? nth : -1
          const config: Config = how === "tool" ? { ...base, kill: { at: "tool", nth } } : base
          processes++
          const node = await Lines.start<Event>("agent-node.ts", config)
          current = node
          const sent = [...pending.values()]
          for (const q of sent) node.send({ id: ++command, cmd: "ask", agent: q.agent, prompt: q.prompt, ref: q.ref })
          if (how === "outside")
            setTimeout(
              () => {
                kills.push(Date.now())
                void node.kill()
              },
              10 + Math.floor(rand() * 300)
            )
          const all = await node.until((es) => es.filter((e) => e.event === "answer").length >= sent.length)
          if (how === "tool" && !all) kills.push(Date.now())
          node.events.forEach((e, i) => {
            if (e.event !== "answer") return
            pending.delete(e.ref)
            const prompt = questions.find((q) => q.ref === e.ref)!.prompt
            answeredAt.set(prompt, Math.min(answeredAt.get(prompt) ?? Number.POSITIVE_INFINITY, node.times[i]!))
          })
          expect(node.events.filter((e) => e.event === "failed")).toEqual([])
          log.push(
            `${incarnation}: ${how}${how === "none" ? "" : ` #${nth}`}, ${all ? "all answered" : `died, ${pending.size} pending`}`
          )
          if (!killing) {
            expect(all, `the last incarnation answers everything (seed ${seed})`).toBe(true)
            // and reports the stored conversations
            for (let a = 0; a < AGENTS; a++) node.send({ id: ++command, cmd: "report", agent: `user-${a}` })
            await node.until((es) => es.filter((e) => e.event === "report").length === AGENTS)
            reports.push(...node.events)
          }
          current = undefined
          await node.kill()
        }
        const context = `seed ${seed}; ${log.join("; ")}`
        for (const e of reports) {
          if (e.event !== "report") continue
          const asked = questions.filter((q) => q.agent === e.agent).map((q) => q.prompt)
          const users = e.state.transcript.filter((m) => m._tag === "User").map((m) => m.text)
          // each question once, each with its tool call, result and answer
          expect([...users].sort(), context).toEqual([...asked].sort())
          expect(e.state.transcript.map((m) => m._tag).join(","), context).toBe(
            asked.map(() => "User,ToolCall,ToolResult,Assistant").join(",")
          )
          // two model calls per question, each counted once
          expect(e.state.calls, context).toBe(2 * asked.length)
          expect(e.state.turns, context).toBe(asked.length)
          expect(e.state.usage.inputTokens + e.state.usage.outputTokens, context).toBe(24 * asked.length)
        }
        // A model call was sent again only by a later process (each one ends with a SIGKILL; requests its killed
        // predecessor had sent may still come in after the kill), and only if it had not been journaled: its
        // answer was journaled for sure once the turn went on (the next step was asked) or ended (answer seen).
        const last = new Map<string, (typeof requests)[number]>()
        /** The requests of the agent that asked `q`, the kills and the answers, for a failure's message. */
        const timeline = (q: string) => {
          const agent = questions.find((question) => question.prompt === q)!.agent
          const mine = new Set(
            questions.filter((question) => question.agent === agent).map((question) => question.prompt)
          )
          const sent = requests
            .filter((n) => mine.has(n.q))
            .map((n) => `${n.q}#${n.step}@${n.at}(process ${n.process})`)
          return `${agent}: ${sent.join(" ")}; kills ${kills.join(" ")}; answered ${JSON.stringify([...answeredAt])}`
        }
        for (const r of requests) {
          const key = `${r.q}#${r.step}`
          const previous = last.get(key)
          last.set(key, r)
          if (previous === undefined) continue
          const before = previous.at
          const context_ = `${key} sent at ${before} and again at ${r.at}; ${context}`
          expect(r.process, `sent twice by one process: ${context_}; ${timeline(r.q)}`).toBeGreaterThan(
            previous.process
          )
          const journaled =
            r.step === 0
              ? requests.some((n) => n.q === r.q && n.step === 1 && n.at > before && n.at < r.at)
              : (answeredAt.get(r.q) ?? Number.POSITIVE_INFINITY) < r.at
          expect(journaled, `sent again after it was journaled: ${context_}; ${timeline(r.q)}`).toBe(false)
        }
        // and every question was noted down (a tool run cut by a kill may have run twice)
        const noted = readFileSync(notes, "utf8").trim().split("\n")
        for (const q of questions) expect(noted, context).toContain(q.prompt)
        expect(noted.length - QUESTIONS, context).toBeLessThanOrEqual(kills.length * AGENTS)
      } finally {
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    }, 300_000)
  })
}
