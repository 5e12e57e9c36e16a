/**
 * MCP clients written with the official SDK (the other side is not ours) call into a Troupe system: an
 * agent and an actor's requests, served over stdio (a real child process) and Streamable HTTP (a real
 * loopback socket).
 */

import { assert, describe, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { ActorSystem } from "@troupe/runtime"
import { Effect, Fiber, Layer } from "effect"
import { Agent, McpServer, OpenAiTestServer, Turn } from "../src/index.ts"

/** An official-SDK client, connected for as long as the scope lasts. */
const connect = (transport: StdioClientTransport | StreamableHTTPClientTransport) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "official-sdk-client", version: "1.0.0" })
      await client.connect(transport)
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

type Content = ReadonlyArray<{ readonly type: string; readonly text?: string }>
const text = (result: Record<string, unknown>) =>
  ((result.content ?? []) as Content).map((part) => part.text ?? "").join("")

describe("a Troupe system as an MCP server (official SDK clients)", () => {
  it.live("stdio: a client lists and calls an actor's requests and an agent, in a child process", () =>
    Effect.gen(function* () {
      const client = yield* connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [new URL("./fixtures/troupeMcpServer.ts", import.meta.url).pathname],
          stderr: "pipe",
          // the SDK passes a child only a few variables: with NODE_OPTIONS it loads the tests' bundle of our
          // packages (test/support/bundle.ts), half the CPU of a start from source (timed out at 30 s under load)
          env: {
            ...getDefaultEnvironment(),
            ...(process.env.NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS: process.env.NODE_OPTIONS })
          }
        })
      )
      assert.deepStrictEqual(client.getServerVersion(), { name: "bank", version: "1.2.3" })
      const { tools } = yield* Effect.promise(() => client.listTools())
      assert.deepStrictEqual(
        tools.map((t) => [t.name, t.description]),
        [
          ["account_Withdraw", "Withdraw money"],
          ["account_Balance", "The balance"],
          ["ask_teller", "Ask the bank's teller"]
        ]
      )
      assert.deepInclude(tools[0]?.inputSchema, { type: "object", required: ["amount"] })
      const call = (name: string, args: Record<string, unknown>) =>
        Effect.promise(() => client.callTool({ name, arguments: args }))

      const withdrawn = yield* call("account_Withdraw", { amount: 3 })
      assert.deepStrictEqual([text(withdrawn), withdrawn.isError], ["7", false])
      const refused = yield* call("account_Withdraw", { amount: 100 })
      assert.deepStrictEqual([text(refused), refused.isError], ['{"_tag":"Insufficient","balance":7}', true])
      const asked = yield* call("ask_teller", { prompt: "Please withdraw 2" })
      assert.deepStrictEqual([text(asked), asked.isError], ["Done: 5 left.", false])
      const balance = yield* call("account_Balance", {})
      assert.strictEqual(text(balance), "5")
      const bad = yield* call("ask_teller", { prompt: 5 })
      assert.isTrue(bad.isError)
      assert.include(text(bad), "prompt")
    }).pipe(Effect.scoped)
  )

  it.live("Streamable HTTP: a client asks an agent; cancelling the call aborts the agent's model request", () =>
    Effect.gen(function* () {
      const model = yield* OpenAiTestServer.OpenAiTestServer
      const assistant = yield* ActorSystem.spawn(Agent.make({ name: "assistant" }))
      const { url } = yield* McpServer.serveHttp({
        name: "troupe",
        tools: [Agent.asTool("ask_assistant", { agent: assistant, description: "Ask the assistant" })]
      })
      const client = yield* connect(new StreamableHTTPClientTransport(new URL(url)))
      const answered = yield* Effect.promise(() =>
        client.callTool({ name: "ask_assistant", arguments: { prompt: "Hello?" } })
      )
      assert.deepStrictEqual([text(answered), answered.isError], ["Hello from the model.", false])

      const controller = new AbortController()
      const cancelled = Effect.promise(() =>
        client
          .callTool({ name: "ask_assistant", arguments: { prompt: "Take your time" } }, undefined, {
            signal: controller.signal
          })
          .then(
            () => "answered",
            (error: Error) => error.name
          )
      )
      const outcome = yield* Effect.forkChild(cancelled)
      yield* model.awaitRequests(2)
      controller.abort()
      yield* model.awaitAbort(1)
      assert.notStrictEqual(yield* Fiber.join(outcome), "answered")
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          ActorSystem.layer(),
          OpenAiTestServer.layerModel([Turn.text("Hello from the model."), Turn.text("never", { delay: "1 hour" })])
        )
      ),
      Effect.scoped
    )
  )
})
