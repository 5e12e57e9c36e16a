import { ActorSystem, Desk } from "./packages/runtime/src/index.ts"
import { Agent, Approval, ScriptedModel, Tool, Turn } from "./packages/llm/src/index.ts"
import { Effect, Layer, Schema, Exit, Cause } from "effect"
let ran = 0
const deploy = Approval.required(Tool.make("deploy", { description: "d", parameters: Schema.Struct({ env: Schema.String }), success: Schema.String, handler: ({ env }) => Effect.sync(() => { ran++; return `live on ${env}` }) }))
const program = Effect.gen(function* () {
  const system = yield* ActorSystem.ActorSystem
  const desk = Desk.of(system)
  const ref = yield* ActorSystem.spawn(Agent.make({ name: "ops", tools: [deploy] }), { name: "ops" })
  const exit = yield* Effect.exit(ref.ask(Agent.Protocol.Ask({ prompt: "ship" }), { timeout: "1 second" }))
  console.log("ask:", Exit.isFailure(exit) ? String(Cause.squash(exit.cause)) : exit.value)
  yield* Effect.sleep("100 millis")
  const pending = yield* desk.pending
  console.log("pending after timeout:", pending.length)
  // the second ask: does the agent still work? was the first conversation kept?
  const second = yield* Effect.exit(ref.ask(Agent.Protocol.Ask({ prompt: "hello" }), { timeout: "2 seconds" }))
  console.log("second ask:", Exit.isFailure(second) ? String(Cause.squash(second.cause)) : second.value)
  const p2 = yield* desk.pending
  console.log("pending now:", p2.map((q) => q.title))
  console.log("ran:", ran)
  console.log("transcript:", JSON.stringify(yield* ref.ask(Agent.Protocol.Transcript())))
})
const model = ScriptedModel.layer(({ messages }) => messages.at(-1)?._tag === "User" && (messages.at(-1) as any).text === "ship" ? Turn.toolCall("deploy", { env: "prod" }) : Turn.text("hi"))
await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Layer.mergeAll(ActorSystem.layer(), model))))
