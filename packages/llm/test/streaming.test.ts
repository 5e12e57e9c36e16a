import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer, Redacted, Schema, Stream } from "effect"
import OpenAI from "openai"
import { LanguageModel, type Message, OpenAi, OpenAiTestServer, Response, ScriptedModel, Turn } from "../src/index.ts"

const script = [Turn.text("Hello, world", { chunkSize: 5, toolCalls: [{ name: "lookup", arguments: { q: "x" } }] })]

/** Without the provider's item id (only the Responses API has them). */
const withoutItemId = <M extends Message.Message>(message: M): M => {
  if (!("itemId" in message)) return message
  const { itemId: _, ...rest } = message
  return rest as M
}

/** The events of one streamed call, with the ids that differ between backends blanked. */
const streamed = (layer: Layer.Layer<LanguageModel.LanguageModel>) =>
  LanguageModel.stream({ prompt: "hi" }).pipe(
    Stream.runCollect,
    Effect.map((events) =>
      events.map((event) =>
        event._tag === "Completed"
          ? {
              ...event,
              response: {
                ...event.response,
                id: "",
                requestId: "",
                messages: event.response.messages.map(withoutItemId),
                toolCalls: event.response.toolCalls.map(withoutItemId)
              }
            }
          : event._tag === "ToolCallDone"
            ? { ...event, call: withoutItemId(event.call) }
            : event
      )
    ),
    Effect.provide(layer)
  )

describe("streaming", () => {
  it.effect("the scripted model, the Responses API and Chat Completions stream the same events", () =>
    Effect.gen(function* () {
      const scripted = yield* streamed(ScriptedModel.layer(script, { model: "gpt-test" }))
      const responses = yield* streamed(OpenAiTestServer.layerModel(script, { api: "responses" }))
      const chat = yield* streamed(OpenAiTestServer.layerModel(script, { api: "chat" }))
      const call = { _tag: "ToolCall" as const, id: "call_0_0", name: "lookup", arguments: '{"q":"x"}' }
      assert.deepStrictEqual(scripted.slice(0, -1), [
        { _tag: "TextDelta", delta: "Hello" },
        { _tag: "TextDelta", delta: ", wor" },
        { _tag: "TextDelta", delta: "ld" },
        { _tag: "ToolCallStarted", id: "call_0_0", name: "lookup" },
        { _tag: "ToolCallDelta", id: "call_0_0", delta: '{"q":' },
        { _tag: "ToolCallDelta", id: "call_0_0", delta: '"x"}' },
        { _tag: "ToolCallDone", call }
      ])
      const completed = scripted.at(-1) as Response.Completed
      assert.deepStrictEqual(completed.response.messages, [{ _tag: "Assistant", text: "Hello, world" }, call])
      assert.strictEqual(completed.response.finishReason, "tool-calls")
      assert.deepStrictEqual(responses, scripted)
      assert.deepStrictEqual(chat, scripted)
    })
  )

  it.effect("stream events survive a round trip through their schema (they can cross a wire)", () =>
    Effect.gen(function* () {
      const events = yield* streamed(ScriptedModel.layer(script))
      const codec = Schema.toCodecJson(Response.StreamEvent)
      const wire = JSON.parse(JSON.stringify(events.map((e) => Schema.encodeSync(codec)(e))))
      assert.deepStrictEqual(
        wire.map((e: unknown) => Schema.decodeUnknownSync(codec)(e)),
        events
      )
    })
  )

  it.effect("the SDK's own stream helpers accept the server's event sequences", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.make([
        Turn.text("Hello, world", { chunkSize: 3, toolCalls: [{ name: "lookup", arguments: { q: "x" } }] }),
        Turn.text("Hello, world", { chunkSize: 3, toolCalls: [{ name: "lookup", arguments: { q: "x" } }] })
      ])
      const client = yield* OpenAi.client({ apiKey: Redacted.make("test"), baseUrl: server.url, model: "gpt-test" })
      const response = yield* Effect.promise(() =>
        client.responses.stream({ model: "gpt-test", input: "hi" }).finalResponse()
      )
      assert.strictEqual(response.output_text, "Hello, world")
      assert.deepStrictEqual(
        response.output.map((item) => item.type),
        ["message", "function_call"]
      )
      const completion = yield* Effect.promise(() =>
        client.chat.completions
          .stream({
            model: "gpt-test",
            messages: [{ role: "user", content: "hi" }],
            stream_options: { include_usage: true }
          })
          .finalChatCompletion()
      )
      assert.strictEqual(completion.choices[0]?.message.content, "Hello, world")
      assert.strictEqual(completion.choices[0]?.message.tool_calls?.[0]?.id, "call_1_0")
      assert.strictEqual(completion.usage?.prompt_tokens, 10)
      assert.instanceOf(client, OpenAI)
    })
  )
})
