import { ActorSystem } from "./packages/runtime/src/index.ts"
import { Agent, ScriptedModel, Tool, Turn } from "./packages/llm/src/index.ts"
import { Inspector } from "./packages/inspector/src/index.ts"
import { Effect, Layer, Schema } from "effect"
const gc = (globalThis as any).gc
const heap = Effect.promise(async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setImmediate(r)) } return process.memoryUsage().heapUsed })
const weather = Tool.make("weather", { description: "w", parameters: Schema.Struct({ city: Schema.String }), success: Schema.Struct({ celsius: Schema.Finite }), handler: () => Effect.succeed({ celsius: 3 }) })
const model = ScriptedModel.layer(({ messages }) => messages.at(-1)?._tag === "ToolResult" ? Turn.text("It is 3.") : Turn.toolCall("weather", { city: "Oslo" }), { record: false })
const mode = process.argv[2]
const program = Effect.gen(function* () {
  const system = yield* ActorSystem.ActorSystem
  if (mode === "inspect") { const i = yield* Inspector.start(system, { port: 0 }); console.log(i.url) }
  const long = yield* ActorSystem.spawn(Agent.make({ name: "long", tools: [weather], maxMessages: 20 }), { name: "long" })
  const round = (n: number) => Effect.gen(function* () {
    for (let i = 0; i < n; i++) {
      if (mode === "long") yield* long.ask(Agent.Protocol.Ask({ prompt: "Oslo?" }))
      else {
        const ref = yield* ActorSystem.spawn(Agent.make({ name: `a${i % 50}`, tools: [weather] }), { name: `a-${i}` })
        yield* ref.ask(Agent.Protocol.Ask({ prompt: "Oslo?" }))
        yield* system.stop(ref)
      }
    }
  })
  yield* round(1000)
  const before = yield* heap
  let t = Date.now()
  yield* round(5000)
  const mid = yield* heap
  console.log(`5k: +${((mid - before) / 1e6).toFixed(2)} MB in ${Date.now() - t} ms`)
  t = Date.now()
  yield* round(5000)
  const after = yield* heap
  console.log(`10k: +${((after - before) / 1e6).toFixed(2)} MB in ${Date.now() - t} ms`)
})
await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Layer.mergeAll(ActorSystem.layer(), model))))
