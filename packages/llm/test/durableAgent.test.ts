import { ActorSystem, Desk, Durable, Entity, Storage } from "@troupe/runtime"
import { Effect, Exit, Fiber, Layer, Option, Schema, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { type Database, databases } from "../../runtime/test/durable/databases.ts"
import {
  Agent,
  Approval,
  Budget,
  DurableAgent,
  type LanguageModel,
  ScriptedModel,
  Tool,
  Turn,
  Usage
} from "../src/index.ts"

/** A tool that crashes its agent the first time it is called (as a crash of the process would cut the turn). */
const flaky = () => {
  let calls = 0
  const tool = Tool.make("lookup", {
    description: "Looks an order up",
    parameters: Schema.Struct({ order: Schema.String }),
    success: Schema.String,
    handler: ({ order }) =>
      ++calls === 1 ? Effect.die(new Error("crash mid-turn")) : Effect.succeed(`${order}: shipped`)
  })
  return { tool, calls: () => calls }
}

const run = <A, E>(
  db: Database,
  location: string,
  script: Turn.Script,
  effect: Effect.Effect<
    A,
    E,
    | ActorSystem.ActorSystem
    | Storage.Storage
    | ScriptedModel.ScriptedModel
    | Budget.Budget
    | LanguageModel.LanguageModel
  >,
  budget: Budget.Limits = {}
) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(ActorSystem.layer()),
      Effect.provide(Layer.mergeAll(ScriptedModel.layer(script), Budget.layer(budget), db.layer(location)))
    )
  )

for (const db of databases()) {
  describe(`durable agents on ${db.name}`, () => {
    it("keep their conversation and usage across restarts of their system", async () => {
      const location = await db.fresh()
      const agent = DurableAgent.persistent({ id: "helper", name: "helper", system: "Be brief." })
      const first = await run(
        db,
        location,
        [Turn.text("Hello Ada.", { usage: { inputTokens: 10, outputTokens: 5 } })],
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(agent, { name: "helper" })
          return yield* ref.ask(Agent.Protocol.Ask({ prompt: "I am Ada." }))
        })
      )
      expect(first).toBe("Hello Ada.")
      const second = await run(
        db,
        location,
        [Turn.text("You are Ada.", { usage: { inputTokens: 20, outputTokens: 5 } })],
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(agent, { name: "helper" })
          const answer = yield* ref.ask(Agent.Protocol.Ask({ prompt: "Who am I?" }))
          const [request] = yield* ScriptedModel.requests
          const stored = yield* Storage.Storage.use((s) => s.state("helper"))
          return { answer, request, stored: Option.getOrUndefined(stored)?.state as DurableAgent.State }
        })
      )
      expect(second.answer).toBe("You are Ada.")
      // the second process's model saw the first conversation
      expect(second.request?.messages.map((m) => ("text" in m ? m.text : m._tag))).toEqual([
        "Be brief.",
        "I am Ada.",
        "Hello Ada.",
        "Who am I?"
      ])
      expect(second.stored.turns).toBe(2)
      expect(second.stored.calls).toBe(2)
      expect(Usage.total(second.stored.usage)).toBe(40)
    })

    it("replay journaled model calls after a crash mid-turn: no call is sent or charged twice", async () => {
      const location = await db.fresh()
      const { tool, calls } = flaky()
      const agent = DurableAgent.persistent({ id: "orders", name: "orders", tools: [tool] })
      const script = [
        Turn.toolCall("lookup", { order: "A-1" }, { usage: { inputTokens: 100, outputTokens: 10 } }),
        Turn.text("A-1 has shipped.", { usage: { inputTokens: 200, outputTokens: 10 } }),
        Turn.text("unexpected third call")
      ]
      const result = await run(
        db,
        location,
        script,
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(agent, { name: "orders", restart: "permanent" })
          const ask = Agent.Protocol.Ask({ prompt: "Where is A-1?" })
          // the tool crashes the agent after the first model call was journaled
          const crashed = yield* Effect.exit(ref.ask(ask))
          // the caller asks again (a durable ask would be redelivered by itself)
          const answer = yield* ref.ask(ask)
          const requests = yield* ScriptedModel.requests
          const spent = yield* Budget.spent
          const transcript = yield* ref.ask(Agent.Protocol.Transcript())
          return { crashed, answer, requests: requests.length, spent, transcript }
        })
      )
      expect(Exit.isFailure(result.crashed)).toBe(true)
      expect(result.answer).toBe("A-1 has shipped.")
      // two model calls in all: the first was replayed from the journal, not sent again
      expect(result.requests).toBe(2)
      expect(calls()).toBe(2)
      // and the budget was charged for each real call once
      expect(result.spent.tokens).toBe(320)
      expect(result.transcript.map((m) => m._tag)).toEqual(["User", "ToolCall", "ToolResult", "Assistant"])
    })

    it("do not ask a person again what they decided, when a crash cut the turn after the decision", async () => {
      const location = await db.fresh()
      const { tool, calls } = flaky()
      const agent = DurableAgent.persistent({ id: "ops", name: "ops", tools: [Approval.required(tool)] })
      const script = [
        Turn.toolCall("lookup", { order: "A-1" }),
        Turn.text("A-1 has shipped."),
        Turn.text("unexpected third call")
      ]
      const result = await run(
        db,
        location,
        script,
        Effect.scoped(
          Effect.gen(function* () {
            // a person approves every question, and we count them
            const desk = Desk.of(yield* ActorSystem.ActorSystem)
            const asked: Array<string> = []
            const person = yield* Effect.forkScoped(
              Stream.runForEach(yield* desk.changes, (change) =>
                change._tag === "Asked"
                  ? Effect.andThen(
                      Effect.sync(() => asked.push(change.question.title)),
                      desk.answer(change.question.id, { decision: "approve" }, "alice")
                    )
                  : Effect.void
              )
            )
            const ref = yield* ActorSystem.spawn(agent, { name: "ops", restart: "permanent" })
            const ask = Agent.Protocol.Ask({ prompt: "Where is A-1?" })
            // approved, then the tool crashes the agent before its result is journaled
            const crashed = yield* Effect.exit(ref.ask(ask))
            const answer = yield* ref.ask(ask)
            yield* Fiber.interrupt(person)
            return { crashed, answer, asked, requests: (yield* ScriptedModel.requests).length }
          })
        )
      )
      expect(Exit.isFailure(result.crashed)).toBe(true)
      expect(result.answer).toBe("A-1 has shipped.")
      // the decision was journaled with the turn: asked once, though the approved call ran twice
      expect(result.asked).toEqual(['ops wants to call lookup({"order":"A-1"})'])
      expect(calls()).toBe(2)
      expect(result.requests).toBe(2)
    })

    it("restore what they spent into the budget of a new process, and refuse what exceeds it", async () => {
      const location = await db.fresh()
      const agent = DurableAgent.persistent({ id: "spender", name: "spender", maxOutputTokens: 10 })
      await run(
        db,
        location,
        [Turn.text("one", { usage: { inputTokens: 90, outputTokens: 5 } })],
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(agent, { name: "spender" })
          yield* ref.ask(Agent.Protocol.Ask({ prompt: "first" }))
        }),
        { maxTokens: 100 }
      )
      const refused = await run(
        db,
        location,
        [Turn.text("two")],
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(agent, { name: "spender" })
          const exit = yield* Effect.exit(ref.ask(Agent.Protocol.Ask({ prompt: "second" })))
          return { exit, requests: (yield* ScriptedModel.requests).length }
        }),
        { maxTokens: 100 }
      )
      // 95 spent before (in the first process) + 10 reserved > 100: refused before anything is sent
      expect(refused.requests).toBe(0)
      expect(Exit.isFailure(refused.exit) && String(refused.exit.cause)).toContain("BudgetExceeded")
    })

    it("live as entities: one per customer, passivated and back with their conversation", async () => {
      const location = await db.fresh()
      const Support = DurableAgent.entity("support", { name: "support", passivateAfter: "20 millis" })
      const script = (request: Turn.Request) => {
        const last = request.messages.at(-1)
        const users = request.messages.filter((m) => m._tag === "User").length
        return Turn.text(`${last?._tag === "User" ? last.text : "?"} (${users} questions so far)`)
      }
      const result = await run(
        db,
        location,
        script,
        Effect.gen(function* () {
          const ada = yield* Entity.ref(Support, "customer-ada")
          const bob = yield* Entity.ref(Support, "customer-bob")
          const a1 = yield* Durable.ask(ada, Agent.Protocol.Ask({ prompt: "a1" }), { id: "ada-1" })
          const b1 = yield* Durable.ask(bob, Agent.Protocol.Ask({ prompt: "b1" }), { id: "bob-1" })
          while ((yield* Entity.active(Support)) > 0) yield* Effect.sleep("5 millis")
          const a2 = yield* Durable.ask(ada, Agent.Protocol.Ask({ prompt: "a2" }), { id: "ada-2" })
          // asked again with the same id: answered from the inbox, not by the model
          const again = yield* Durable.ask(ada, Agent.Protocol.Ask({ prompt: "a2" }), { id: "ada-2" })
          return { a1, b1, a2, again, requests: (yield* ScriptedModel.requests).length }
        })
      )
      expect(result).toEqual({
        a1: "a1 (1 questions so far)",
        b1: "b1 (1 questions so far)",
        a2: "a2 (2 questions so far)",
        again: "a2 (2 questions so far)",
        requests: 3
      })
    })
  })
}
