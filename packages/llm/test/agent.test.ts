import { assert, describe, it } from "@effect/vitest"
import { type ActorRef, ActorSystem, Behavior, Protocol, type SystemEvent, TestKit } from "@troupe/runtime"
import { Cause, Effect, Layer, Schema, Stream } from "effect"
import {
  Agent,
  Budget,
  LanguageModel,
  LlmError,
  Message,
  OpenAiTestServer,
  ScriptedModel,
  Tool,
  Turn
} from "../src/index.ts"

class Insufficient extends Schema.TaggedError<Insufficient>()("Insufficient", { balance: Schema.Number }) {}

/** A bank account: the actor the agent's `withdraw` tool asks. */
const Account = Protocol.make("Account", {
  Withdraw: Protocol.request({ amount: Schema.Number }, { success: Schema.Number, failure: Insufficient }),
  Balance: Protocol.request({}, { success: Schema.Number })
})

const account = (initial: number) =>
  Behavior.make(Account, {
    initial,
    receive: {
      Withdraw: (balance, { amount }) =>
        amount > balance
          ? Effect.fail(new Insufficient({ balance }))
          : Effect.succeed({ state: balance - amount, reply: balance - amount }),
      Balance: (balance) => Effect.succeed({ state: balance, reply: balance })
    }
  })

const clock = Tool.make("clock", {
  description: "The local time in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.String,
  handler: ({ city }) => Effect.succeed(city === "Oslo" ? "09:00" : "10:00")
})

const withdrawFrom = (ref: ActorRef.ActorRef<typeof Account>) =>
  Tool.fromAsk("withdraw", {
    description: "Withdraw money; answers the new balance",
    parameters: Schema.Struct({ amount: Schema.Finite }),
    actor: ref,
    request: ({ amount }) => Account.Withdraw({ amount })
  })

const results = (transcript: ReadonlyArray<Message.Message>) =>
  transcript.flatMap((m) => (m._tag === "ToolResult" ? [[m.name, m.output, m.isError] as const] : []))

/** The system events of one kind, collected from now on. */
const collect = <T extends SystemEvent.SystemEvent["_tag"]>(tag: T) =>
  Effect.gen(function* () {
    const stream = yield* (yield* ActorSystem.ActorSystem).subscribe
    const out: Array<Extract<SystemEvent.SystemEvent, { _tag: T }>> = []
    yield* stream.pipe(
      Stream.filter((e): e is Extract<SystemEvent.SystemEvent, { _tag: T }> => e._tag === tag),
      Stream.runForEach((e) => Effect.sync(() => out.push(e))),
      Effect.forkScoped
    )
    return out
  })

const scripted = (script: Turn.Script) => Layer.mergeAll(ActorSystem.layer(), ScriptedModel.layer(script))

describe("Agent", () => {
  it.effect("answers asks and keeps its conversation; Reset clears it", () =>
    Effect.gen(function* () {
      const ref = yield* ActorSystem.spawn(Agent.make({ name: "pal", system: "Be brief." }), { name: "pal" })
      assert.strictEqual(yield* ref.ask(Agent.Protocol.Ask({ prompt: "I am Ada." })), "Hi Ada.")
      assert.strictEqual(yield* ref.ask(Agent.Protocol.Ask({ prompt: "Who am I?" })), "You are Ada.")
      const requests = yield* ScriptedModel.requests
      assert.deepStrictEqual(requests[1]?.messages, [
        Message.system("Be brief."),
        Message.user("I am Ada."),
        Message.assistant("Hi Ada."),
        Message.user("Who am I?")
      ])
      assert.strictEqual((yield* ref.ask(Agent.Protocol.Transcript())).length, 4)
      yield* ref.tell(Agent.Protocol.Reset())
      yield* ref.ask(Agent.Protocol.Ask({ prompt: "Who am I?" }))
      assert.deepStrictEqual((yield* ScriptedModel.requests)[2]?.messages, [
        Message.system("Be brief."),
        Message.user("Who am I?")
      ])
    }).pipe(Effect.provide(scripted([Turn.text("Hi Ada."), Turn.text("You are Ada."), Turn.text("I do not know.")])))
  )

  it.effect("runs the loop with two tools, one of them an ask to another actor", () =>
    Effect.gen(function* () {
      const bank = yield* ActorSystem.spawn(account(10), { name: "account" })
      const teller = yield* ActorSystem.spawn(Agent.make({ name: "teller", tools: [clock, withdrawFrom(bank)] }))
      const answer = yield* teller.ask(Agent.Protocol.Ask({ prompt: "Take out 4, then 100. What time is it?" }))
      assert.strictEqual(answer, "Done: 6 left, 100 refused, it is 09:00.")
      assert.strictEqual(yield* bank.ask(Account.Balance()), 6)
      const transcript = yield* teller.ask(Agent.Protocol.Transcript())
      assert.deepStrictEqual(results(transcript), [
        ["withdraw", "6", false],
        ["clock", "09:00", false],
        // the actor's typed failure is the tool's answer, encoded by the request's failure schema
        ["withdraw", '{"_tag":"Insufficient","balance":6}', true]
      ])
      // the model saw every result before answering
      assert.deepStrictEqual(results((yield* ScriptedModel.requests)[2]!.messages), results(transcript))
    }).pipe(
      Effect.provide(
        scripted([
          Turn.toolCalls([
            { name: "withdraw", arguments: { amount: 4 } },
            { name: "clock", arguments: { city: "Oslo" } }
          ]),
          Turn.toolCall("withdraw", { amount: 100 }),
          Turn.text("Done: 6 left, 100 refused, it is 09:00.")
        ])
      )
    )
  )

  it.effect("a failed ask in a tool ends the loop, or reaches the model with failureMode 'return'", () =>
    Effect.gen(function* () {
      const bank = yield* ActorSystem.spawn(account(10))
      yield* ActorSystem.stop(bank)
      const strict = withdrawFrom(bank)
      const call = Message.toolCall("c1", "withdraw", '{"amount":1}')
      const failed = yield* Effect.flip(strict.call(call))
      assert.strictEqual(failed._tag, "RecipientTerminated")
      const forgiving = Tool.fromAsk("withdraw", {
        description: "Withdraw money",
        parameters: Schema.Struct({ amount: Schema.Finite }),
        actor: bank,
        request: ({ amount }) => Account.Withdraw({ amount }),
        failureMode: "return"
      })
      const reported = yield* forgiving.call(call)
      assert.isTrue(reported.isError)
      assert.match(reported.output, /^RecipientTerminated: .*terminated before replying to Withdraw/)
    }).pipe(Effect.provide(ActorSystem.layer()))
  )

  it.effect("streams text deltas, tool calls and tool results to a subscriber, before the reply", () =>
    Effect.gen(function* () {
      const subscriber = yield* TestKit.probe(Agent.Events)
      const ref = yield* ActorSystem.spawn(Agent.make({ name: "streamer", tools: [clock] }))
      const answer = yield* ref.ask(Agent.Protocol.Ask({ prompt: "Time in Oslo?", subscriber: subscriber.ref }))
      assert.strictEqual(answer, "It is 09:00.")
      const events = []
      for (let i = 0; i < 5; i++) events.push((yield* subscriber.expectMessageOf("Event")).event)
      assert.deepStrictEqual(
        events.map((e) => (e._tag === "TextDelta" ? e.delta : e._tag === "ToolCall" ? e.name : e.output)),
        ["clock", "09:00", "It is", " 09:0", "0."]
      )
    }).pipe(
      Effect.provide(scripted([Turn.toolCall("clock", { city: "Oslo" }), Turn.text("It is 09:00.", { chunkSize: 5 })]))
    )
  )

  it.effect("answers with a typed object when it has an output schema", () =>
    Effect.gen(function* () {
      const forecaster = Agent.make({
        name: "forecaster",
        output: Schema.Struct({ celsius: Schema.Finite, coat: Schema.Boolean })
      })
      const ref = yield* ActorSystem.spawn(forecaster)
      const report = yield* ref.ask(forecaster.protocol.Ask({ prompt: "Oslo?" }))
      assert.deepStrictEqual(report, { celsius: 3, coat: true })
      assert.strictEqual((yield* ScriptedModel.requests)[0]?.output?.name, "output")
    }).pipe(Effect.provide(scripted([Turn.object({ celsius: 3, coat: true })])))
  )

  it.effect("a spent budget is a typed reply; the agent keeps running and its conversation is unchanged", () =>
    Effect.gen(function* () {
      const ref = yield* ActorSystem.spawn(Agent.make({ name: "thrifty" })).pipe(
        Effect.provide(Budget.layer({ maxTokens: 100 }))
      )
      assert.strictEqual(yield* ref.ask(Agent.Protocol.Ask({ prompt: "hi" })), "expensive")
      const refused = yield* ref
        .ask(Agent.Protocol.Ask({ prompt: "again" }))
        .pipe(Effect.catchTag("BudgetExceeded", (e) => Effect.succeed(e)))
      assert.instanceOf(refused, LlmError.BudgetExceeded)
      assert.deepInclude(refused, { limit: "tokens", max: 100, spent: 101 })
      assert.deepStrictEqual(yield* ref.ask(Agent.Protocol.Transcript()), [
        Message.user("hi"),
        Message.assistant("expensive")
      ])
      assert.strictEqual((yield* ScriptedModel.requests).length, 1)
    }).pipe(Effect.provide(scripted([Turn.text("expensive", { usage: { inputTokens: 100, outputTokens: 1 } })])))
  )

  it.effect("max steps is a typed reply too", () =>
    Effect.gen(function* () {
      const ref = yield* ActorSystem.spawn(Agent.make({ name: "looper", tools: [clock], maxSteps: 2 }))
      const error = yield* Effect.flip(ref.ask(Agent.Protocol.Ask({ prompt: "loop" })))
      assert.instanceOf(error, LlmError.MaxStepsExceeded)
      assert.deepStrictEqual(yield* ref.ask(Agent.Protocol.Transcript()), [])
    }).pipe(Effect.provide(scripted(() => Turn.toolCall("clock", { city: "Oslo" }))))
  )

  it.effect("a model error that survives retries crashes the agent: the supervisor sees it and restarts it", () =>
    Effect.gen(function* () {
      const failed = yield* collect("Failed")
      const restarted = yield* collect("Restarted")
      const ref = yield* ActorSystem.spawn(Agent.make({ name: "fragile" }), { name: "fragile" })
      yield* ref.ask(Agent.Protocol.Ask({ prompt: "hello" }))
      const error = yield* Effect.flip(ref.ask(Agent.Protocol.Ask({ prompt: "again" })))
      assert.strictEqual(error._tag, "RequestFailed")
      // the restarted agent starts a fresh conversation
      assert.deepStrictEqual(yield* ref.ask(Agent.Protocol.Transcript()), [])
      assert.deepStrictEqual(
        failed.map((e) => [e.path, e.tag]),
        [["/user/fragile", "Ask"]]
      )
      const cause = failed[0]!.cause
      assert.instanceOf(Cause.squash(cause), LlmError.AuthenticationFailed)
      assert.deepStrictEqual(
        restarted.map((e) => e.path),
        ["/user/fragile"]
      )
    }).pipe(Effect.provide(scripted([Turn.text("hi"), Turn.error(401)])))
  )

  it.effect("keeps at most maxMessages, dropping the oldest whole turns", () =>
    Effect.gen(function* () {
      const ref = yield* ActorSystem.spawn(Agent.make({ name: "short", tools: [clock], maxMessages: 5 }))
      yield* ref.ask(Agent.Protocol.Ask({ prompt: "one" }))
      yield* ref.ask(Agent.Protocol.Ask({ prompt: "two" }))
      assert.deepStrictEqual(
        (yield* ref.ask(Agent.Protocol.Transcript())).map((m) => m._tag),
        ["User", "ToolCall", "ToolResult", "Assistant"]
      )
      const turns = [Message.user("a"), Message.assistant("b"), Message.user("c"), Message.toolCall("1", "x", "{}")]
      assert.deepStrictEqual(Agent.dropOldestTurns(turns, 3), turns.slice(2))
      assert.deepStrictEqual(Agent.dropOldestTurns(turns, 1), turns.slice(2))
    }).pipe(
      Effect.provide(
        scripted([Turn.text("1"), Turn.toolCall("clock", { city: "Oslo" }), Turn.text("09:00"), Turn.text("unused")])
      )
    )
  )

  it.effect("compact rewrites a conversation that grew past maxMessages, e.g. into a summary by the model", () =>
    Effect.gen(function* () {
      const ref = yield* ActorSystem.spawn(
        Agent.make({
          name: "summarizer",
          maxMessages: 3,
          compact: (transcript) =>
            LanguageModel.generate({ prompt: [...transcript, Message.user("Summarise our conversation.")] }).pipe(
              Effect.map((summary) => [Message.user(`Earlier: ${summary.text}`)])
            )
        })
      )
      yield* ref.ask(Agent.Protocol.Ask({ prompt: "I am Ada." }))
      assert.strictEqual((yield* ref.ask(Agent.Protocol.Transcript())).length, 2)
      yield* ref.ask(Agent.Protocol.Ask({ prompt: "I like tea." }))
      assert.deepStrictEqual(yield* ref.ask(Agent.Protocol.Transcript()), [Message.user("Earlier: Ada likes tea.")])
    }).pipe(Effect.provide(scripted([Turn.text("Hi Ada."), Turn.text("Noted."), Turn.text("Ada likes tea.")])))
  )

  it.live("end to end over HTTP: the real SDK against the test server, with a tool and a subscriber", () =>
    Effect.gen(function* () {
      const subscriber = yield* TestKit.probe(Agent.Events)
      const bank = yield* ActorSystem.spawn(account(10))
      const teller = yield* ActorSystem.spawn(Agent.make({ name: "teller", tools: [withdrawFrom(bank)] }))
      const answer = yield* teller.ask(Agent.Protocol.Ask({ prompt: "Take out 3", subscriber: subscriber.ref }), {
        timeout: "10 seconds"
      })
      assert.strictEqual(answer, "7 left.")
      const events = []
      for (let i = 0; i < 3; i++) events.push((yield* subscriber.expectMessageOf("Event")).event._tag)
      assert.deepStrictEqual(events, ["ToolCall", "ToolResult", "TextDelta"])
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const requests = yield* server.requests
      assert.deepStrictEqual(
        requests.map((r) => [r.api, r.body.stream]),
        [
          ["chat", true],
          ["chat", true]
        ]
      )
      assert.deepStrictEqual(results(requests[1]!.messages), [["withdraw", "7", false]])
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          ActorSystem.layer(),
          OpenAiTestServer.layerModel([Turn.toolCall("withdraw", { amount: 3 }), Turn.text("7 left.")], {
            api: "chat"
          })
        )
      )
    )
  )
})
