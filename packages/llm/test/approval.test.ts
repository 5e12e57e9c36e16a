/**
 * People in the loop of an agent: a tool call that needs a person's approval (approve, edit, refuse), and the
 * agent events an inspector reads (model calls with the budget left, tool calls, turns, decisions).
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Choreography, Desk, Session, type SystemEvent } from "@troupe/runtime"
import { Effect, Fiber, Layer, Schema, Stream } from "effect"
import { Agent, AgentEvent, Approval, Budget, LlmRole, type Message, ScriptedModel, Tool, Turn } from "../src/index.ts"

const deployed: Array<string> = []

const deploy = Approval.required(
  Tool.make("deploy", {
    description: "Deploy a version to an environment",
    parameters: Schema.Struct({ version: Schema.String, env: Schema.Literals(["staging", "prod"]) }),
    success: Schema.String,
    handler: ({ version, env }) =>
      Effect.sync(() => {
        deployed.push(`${version}@${env}`)
        return `${version} is live on ${env}`
      })
  })
)

const ops = Agent.make({ name: "ops", system: "You ship releases.", tools: [deploy] })

const results = (transcript: ReadonlyArray<Message.Message>) =>
  transcript.flatMap((m) => (m._tag === "ToolResult" ? [[m.output, m.isError] as const] : []))

/** Every agent event published from now on. */
const agentEvents = Effect.gen(function* () {
  const stream = yield* (yield* ActorSystem.ActorSystem).subscribe
  const out: Array<{ readonly path: string | undefined; readonly event: AgentEvent.AgentEvent }> = []
  yield* stream.pipe(
    Stream.runForEach((e: SystemEvent.SystemEvent) =>
      Effect.sync(() => {
        const found = AgentEvent.fromSystemEvent(e)
        if (found !== undefined) out.push(found)
      })
    ),
    Effect.forkScoped
  )
  return out
})

/** Answers the next approval question with `answer` (after refusing `bad` first, when given). */
const person = (answer: unknown, bad?: unknown) =>
  Effect.gen(function* () {
    const desk = Desk.of(yield* ActorSystem.ActorSystem)
    for (;;) {
      const [question] = yield* desk.pending
      if (question !== undefined) {
        assert.strictEqual(question.kind, "approval")
        if (bad !== undefined) {
          const refused = yield* Effect.flip(desk.answer(question.id, bad, "alice"))
          assert.strictEqual(refused._tag, "AnswerRefused")
        }
        yield* desk.answer(question.id, answer, "alice")
        return question
      }
      yield* Effect.yieldNow
    }
  })

const script = [Turn.toolCall("deploy", { version: "v2", env: "prod" }), Turn.text("Done.")]
const model = ScriptedModel.layer(script, { model: "gpt-4o-mini" })
const withSystem = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(Effect.scoped(effect), Layer.mergeAll(ActorSystem.layer(), model))

describe("Approval", () => {
  it.effect("a person approves a tool call: it runs after, and the agent's work is published", () =>
    withSystem(
      Effect.gen(function* () {
        deployed.length = 0
        const events = yield* agentEvents
        const ref = yield* ActorSystem.spawn(ops, { name: "ops" }).pipe(
          Effect.provide(Budget.layer({ maxTokens: 100_000, maxCost: 1 }))
        )
        const answer = yield* Effect.forkChild(
          ref.ask(Agent.Protocol.Ask({ prompt: "Ship v2" }), { timeout: "1 minute" })
        )
        const question = yield* person({ decision: "approve" })
        assert.strictEqual(question.title, `ops wants to call deploy({"version":"v2","env":"prod"})`)
        assert.deepInclude(question.detail as Approval.Detail, {
          agent: "ops",
          tool: "deploy",
          arguments: { version: "v2", env: "prod" }
        })
        assert.strictEqual(question.path, "/user/ops")
        assert.strictEqual(yield* Fiber.join(answer), "Done.")
        assert.deepStrictEqual(deployed, ["v2@prod"])
        const transcript = yield* ref.ask(Agent.Protocol.Transcript())
        assert.deepStrictEqual(results(transcript), [["v2 is live on prod", false]])

        const tags = events.map((e) => e.event._tag)
        assert.deepStrictEqual(tags, [
          "ModelCalled",
          "ToolCalled",
          "ApprovalDecided",
          "ToolAnswered",
          "ModelCalled",
          "TurnDone"
        ])
        assert.isTrue(events.every((e) => e.path === "/user/ops"))
        const call = events[0]!.event as AgentEvent.ModelCalled
        assert.strictEqual(call.agent, "ops")
        assert.strictEqual(call.model, "gpt-4o-mini")
        assert.isAbove(call.usage.inputTokens, 0)
        assert.isAbove(call.cost ?? 0, 0)
        assert.deepStrictEqual(call.budget?.limits, { maxTokens: 100_000, maxCost: 1 })
        assert.strictEqual(call.budget?.spent.calls, 1)
        assert.deepInclude(events[2]!.event, { decision: "approved", by: "alice", tool: "deploy" })
        const turn = events[5]!.event as AgentEvent.TurnDone
        assert.deepInclude(turn, { agent: "ops", prompt: "Ship v2", answer: "Done.", steps: 2 })
      })
    )
  )

  it.effect("a person edits the arguments: a wrong edit is refused, the right one runs", () =>
    withSystem(
      Effect.gen(function* () {
        deployed.length = 0
        const ref = yield* ActorSystem.spawn(ops)
        const answer = yield* Effect.forkChild(
          ref.ask(Agent.Protocol.Ask({ prompt: "Ship v2" }), { timeout: "1 minute" })
        )
        yield* person(
          { decision: "edit", arguments: { version: "v2", env: "staging" } },
          { decision: "edit", arguments: { version: "v2", env: "moon" } }
        )
        yield* Fiber.join(answer)
        assert.deepStrictEqual(deployed, ["v2@staging"])
        assert.deepStrictEqual(results(yield* ref.ask(Agent.Protocol.Transcript())), [["v2 is live on staging", false]])
      })
    )
  )

  it.effect("a person refuses: the tool does not run, the model reads why and goes on", () =>
    withSystem(
      Effect.gen(function* () {
        deployed.length = 0
        const ref = yield* ActorSystem.spawn(ops)
        const answer = yield* Effect.forkChild(
          ref.ask(Agent.Protocol.Ask({ prompt: "Ship v2" }), { timeout: "1 minute" })
        )
        yield* person({ decision: "refuse", reason: "not on a Friday" }, { decision: "maybe" })
        assert.strictEqual(yield* Fiber.join(answer), "Done.")
        assert.deepStrictEqual(deployed, [])
        assert.deepStrictEqual(results(yield* ref.ask(Agent.Protocol.Transcript())), [
          ["The call was refused by alice: not on a Friday. Do not call it again as it was.", true]
        ])
      })
    )
  )

  const Release = Choreography.makeUnsafe("Release", ["Lead", "Ops"], ($) => [
    $.message("Lead", "Ops", "ship", Schema.String),
    $.message("Ops", "Lead", "shipped", Schema.String)
  ])

  it.effect("in a session role, the decision is part of the session's trace", () =>
    Effect.gen(function* () {
      deployed.length = 0
      const lead = yield* ActorSystem.spawn(
        Session.role(Release, "Lead", (ep) =>
          Effect.gen(function* () {
            const shipped = yield* (yield* ep.send("Ops", "ship", "v3")).receive()
            return shipped.payload
          })
        )
      )
      const opsRole = yield* ActorSystem.spawn(
        Session.role(Release, "Ops", LlmRole.play({ system: "You ship releases.", tools: [deploy] }))
      )
      const run = yield* Effect.forkChild(Session.run(Release, { roles: { Lead: lead, Ops: opsRole }, id: "r-1" }))
      const question = yield* person({ decision: "approve" })
      assert.deepInclude(question, { session: "r-1", role: "Ops", protocol: "Release" })
      const done = yield* Fiber.join(run)
      assert.strictEqual(done.results.Lead, "v3 is out")
      assert.deepStrictEqual(deployed, ["v3@prod"])
      const note = done.trace.find((e) => e._tag === "Note")
      assert.deepStrictEqual(note, {
        _tag: "Note",
        role: "Ops",
        text: `alice approved deploy({"version":"v3","env":"prod"})`
      })
      // between the message that asked for it and the answer
      const order = done.trace.map((e) => (e._tag === "Note" ? "note" : `${e._tag}:${"label" in e ? e.label : ""}`))
      assert.deepStrictEqual(order, ["Sent:ship", "Received:ship", "note", "Sent:shipped", "Received:shipped"])
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Layer.mergeAll(
          ActorSystem.layer(),
          ScriptedModel.layer([
            Turn.toolCall("deploy", { version: "v3", env: "prod" }),
            Turn.object({ move: { to: "Lead", label: "shipped", payload: "v3 is out" } })
          ])
        )
      )
    )
  )
})
