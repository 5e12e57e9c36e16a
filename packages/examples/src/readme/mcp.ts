import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Agent, Mcp, ScriptedModel, Turn } from "@troupe/llm"
import { ActorSystem } from "@troupe/runtime"
import { Effect, Layer } from "effect"

const program = Effect.gen(function* () {
  // Any MCP server: a command speaking stdio (this one is written with Troupe), or { url } for Streamable HTTP.
  const server = new URL("../mcp/world-clock.ts", import.meta.url).pathname
  const clock = yield* Mcp.connect({ command: process.execPath, args: [server] })
  // Its tools are listed, typed from their JSON Schema, and called under the agent's deadlines.
  const ref = yield* ActorSystem.spawn(Agent.make({ name: "assistant", tools: clock.tools }))
  const answer = yield* ref.ask(Agent.Protocol.Ask({ prompt: "Is Oslo ahead of London?" }), { timeout: "1 minute" })
  console.log(answer)
})

// Offline, a scripted model calls the server's tool, then answers with its result. Real ones: OpenAi, Anthropic.
const model = ScriptedModel.layer(({ messages }) => {
  const last = messages.at(-1)
  if (last?._tag !== "ToolResult") return Turn.toolCall("utc_offset", { city: "Oslo" })
  return Turn.text(`Yes: Oslo is at ${last.output}, London at UTC+00:00.`)
})

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(Layer.mergeAll(ActorSystem.layer(), model))))
