/**
 * An LLM agent with tools. The agent is an actor that keeps its conversation; two of its tools ask another
 * actor (the shop's inventory), whose typed refusal goes back to the model so it can adjust; a third is a
 * plain function. After the answer, the conversation the agent kept shows every step it took.
 *
 * Offline by default: a scripted model plays the model's turns. With `OPENAI_API_KEY` set, a real
 * OpenAI-compatible model answers instead (`OPENAI_BASE_URL`, `OPENAI_MODEL` and `OPENAI_API` optional).
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples agent`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Agent, OpenAi, ScriptedModel, Tool, Turn } from "@troupe/llm"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"

// The inventory: an ordinary actor. Reserving more than is in stock is refused with a typed failure.
class OutOfStock extends Schema.TaggedError<OutOfStock>()("OutOfStock", {
  item: Schema.String,
  available: Schema.Number
}) {}

const Inventory = Protocol.make("Inventory", {
  Stock: Protocol.request({ item: Schema.String }, { success: Schema.Number }),
  Reserve: Protocol.request(
    { item: Schema.String, quantity: Schema.Number },
    { success: Schema.String, failure: OutOfStock }
  )
})

const inventory = Behavior.make(Inventory, {
  initial: { stock: { lamp: 2, chair: 12 } as Record<string, number>, reservations: 0 },
  receive: {
    Stock: (state, { item }) => Effect.succeed({ state, reply: state.stock[item] ?? 0 }),
    Reserve: (state, { item, quantity }) => {
      const available = state.stock[item] ?? 0
      if (quantity > available) return Effect.fail(new OutOfStock({ item, available }))
      const next = { stock: { ...state.stock, [item]: available - quantity }, reservations: state.reservations + 1 }
      return Effect.succeed({ state: next, reply: `R-${next.reservations}` })
    }
  }
})

const program = Effect.gen(function* () {
  const shop = yield* ActorSystem.spawn(inventory, { name: "inventory" })

  const item = Schema.Struct({ item: Schema.String })
  const order = Schema.Struct({ item: Schema.String, quantity: Schema.Int })
  const tools = [
    Tool.fromAsk("stock", {
      description: "How many of an item are in stock",
      parameters: item,
      actor: shop,
      request: ({ item }) => Inventory.Stock({ item })
    }),
    Tool.fromAsk("reserve", {
      description: "Reserve a quantity of an item; answers the reservation id, or OutOfStock with what is available",
      parameters: order,
      actor: shop,
      request: ({ item, quantity }) => Inventory.Reserve({ item, quantity })
    }),
    Tool.make("price", {
      description: "The total price of a quantity of an item, in euros",
      parameters: order,
      success: Schema.Struct({ euros: Schema.Finite }),
      handler: ({ item, quantity }) => Effect.succeed({ euros: quantity * (item === "lamp" ? 29.9 : 45) })
    })
  ] as const

  const assistant = Agent.make({
    name: "shop-assistant",
    system: "You are a shop assistant. Use the tools to check stock, reserve items and price them. Be brief.",
    tools,
    maxSteps: 8
  })
  const ref = yield* ActorSystem.spawn(assistant, { name: "assistant" })

  const prompt = "Please reserve 5 lamps for me and tell me the total."
  const answer = yield* ref.ask(Agent.Protocol.Ask({ prompt }), { timeout: "2 minutes" })

  // The agent's state is its conversation: every tool call and result is in it.
  for (const message of yield* ref.ask(Agent.Protocol.Transcript())) {
    if (message._tag === "User") console.log(`user: ${message.text}`)
    if (message._tag === "ToolCall") console.log(`  -> ${message.name}(${message.arguments})`)
    if (message._tag === "ToolResult") console.log(`  <- ${message.isError ? "refused: " : ""}${message.output}`)
  }
  console.log(`assistant: ${answer}`)
})

// The model's turns when no real model is configured: what a model would do with these tools.
const script = [
  Turn.toolCall("stock", { item: "lamp" }),
  Turn.toolCall("reserve", { item: "lamp", quantity: 5 }),
  Turn.toolCalls([
    { name: "reserve", arguments: { item: "lamp", quantity: 2 } },
    { name: "price", arguments: { item: "lamp", quantity: 2 } }
  ]),
  Turn.text("Only 2 lamps were in stock: I reserved both (reservation R-1). The total is 59.80 euros.")
]
const model = process.env.OPENAI_API_KEY ? OpenAi.layerConfig() : ScriptedModel.layer(script)

NodeRuntime.runMain(program.pipe(Effect.provide(Layer.mergeAll(ActorSystem.layer({ name: "shop" }), model))))
