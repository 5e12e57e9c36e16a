/**
 * Agents use the tools of MCP servers written with the official SDK (the other side is not ours): over stdio
 * (a real child process) and Streamable HTTP (a real loopback socket).
 */
import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { ActorSystem } from "@troupe/runtime"
import { Effect, Exit } from "effect"
import { Agent, Mcp, type Message, OpenAiTestServer, ScriptedModel, ToolLoop, Turn } from "../src/index.ts"
import * as WeatherServer from "./fixtures/weatherMcpServer.ts"

const stdio: Mcp.Stdio = {
  command: process.execPath,
  args: [new URL("./fixtures/weatherMcpServer.ts", import.meta.url).pathname]
}

/** The official SDK's server over Streamable HTTP on loopback, for as long as the scope lasts. */
const httpServer = Effect.acquireRelease(
  Effect.promise(async () => {
    const mcp = WeatherServer.make()
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() })
    await mcp.connect(transport)
    const server = Http.createServer((req, res) => void transport.handleRequest(req, res))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return { server, mcp, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` }
  }),
  ({ server, mcp }) =>
    Effect.promise(async () => {
      await mcp.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    })
)

/** What the server's `cancellations` tool says. */
const cancellations = (connection: Mcp.Connection) =>
  Effect.suspend(() => connection.tools.find((tool) => tool.name === "cancellations")!.handler({}))

const results = (transcript: ReadonlyArray<Message.Message>) =>
  transcript.filter((m): m is Message.ToolResult => m._tag === "ToolResult")

describe("MCP servers' tools (official SDK servers)", () => {
  it.live("stdio: the tools are listed, their JSON Schema is sent as is, and a tool loop calls one", () =>
    Effect.gen(function* () {
      const weather = yield* Mcp.connect(stdio, { prefix: "weather_" })
      assert.deepStrictEqual(weather.info, { name: "weather", version: "1.0.0" })
      assert.deepStrictEqual(
        weather.tools.map((t) => t.name),
        ["weather_forecast", "weather_alert", "weather_slow", "weather_cancellations", "weather_crash"]
      )
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const result = yield* ToolLoop.run({ prompt: "Weather in Oslo?", tools: weather.tools })
      assert.strictEqual(result.text, "Cold.")
      assert.deepStrictEqual(
        results(result.transcript).map((r) => [r.output, r.isError]),
        [["Oslo: 3, 4 °C", false]]
      )
      const [first] = yield* server.requests
      const forecast = (first!.body.tools as ReadonlyArray<Record<string, unknown>>)[0]
      assert.deepStrictEqual(forecast, {
        type: "function",
        name: "weather_forecast",
        description: "The forecast for a city: temperature in °C for the next days",
        parameters: {
          type: "object",
          properties: { city: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 7 } },
          required: ["city"]
        },
        strict: false
      })
    }).pipe(
      Effect.provide(
        OpenAiTestServer.layerModel([Turn.toolCall("weather_forecast", { city: "Oslo", days: 2 }), Turn.text("Cold.")])
      ),
      Effect.scoped
    )
  )

  it.live("arguments that break the tool's JSON Schema go back to the model, and tool errors too", () =>
    Effect.gen(function* () {
      const weather = yield* Mcp.connect(stdio)
      const result = yield* ToolLoop.run({ prompt: "?", tools: weather.tools })
      const [tooMany, missing, alert] = results(result.transcript)
      assert.isTrue(tooMany?.isError)
      assert.include(tooMany?.output, "days")
      assert.isTrue(missing?.isError)
      assert.include(missing?.output, "city")
      assert.deepStrictEqual([alert?.output, alert?.isError], ["no alert service for Mars", true])
    }).pipe(
      Effect.provide(
        ScriptedModel.layer([
          Turn.toolCalls([
            { name: "forecast", arguments: { city: "Oslo", days: 9 } },
            { name: "forecast", arguments: { days: 2 } },
            { name: "alert", arguments: { region: "Mars" } }
          ]),
          Turn.text("Sorry.")
        ])
      ),
      Effect.scoped
    )
  )

  it.live("an agent's deadline cancels the call on the server", () =>
    Effect.gen(function* () {
      const weather = yield* Mcp.connect(stdio, { include: ["slow", "cancellations"] })
      const ref = yield* ActorSystem.spawn(Agent.make({ name: "patient", tools: weather.tools }))
      const timedOut = yield* Effect.exit(ref.ask(Agent.Protocol.Ask({ prompt: "wait" }), { timeout: "2 seconds" }))
      assert.isTrue(Exit.isFailure(timedOut))
      // the agent handles one message at a time: this answer comes once the interrupted ask has ended
      yield* ref.ask(Agent.Protocol.Transcript())
      assert.deepStrictEqual(yield* cancellations(weather), { output: "1", isError: false })
    }).pipe(
      Effect.provide(ActorSystem.layer()),
      Effect.provide(ScriptedModel.layer([Turn.toolCall("slow", { ms: 60_000 })])),
      Effect.scoped
    )
  )

  it.live("a call's own deadline: the model is told, and the call is cancelled on the server", () =>
    Effect.gen(function* () {
      const weather = yield* Mcp.connect(stdio, { timeout: "300 millis", include: ["slow", "cancellations"] })
      const result = yield* ToolLoop.run({ prompt: "wait", tools: weather.tools })
      const [slow] = results(result.transcript)
      assert.isTrue(slow?.isError)
      assert.include(slow?.output, '"slow"')
      assert.deepStrictEqual(yield* cancellations(weather), { output: "1", isError: false })
    }).pipe(
      Effect.provide(ScriptedModel.layer([Turn.toolCall("slow", { ms: 60_000 }), Turn.text("Too slow.")])),
      Effect.scoped
    )
  )

  it.live("a server that dies: the call fails with McpError (or ends the loop with failureMode error)", () =>
    Effect.gen(function* () {
      const weather = yield* Mcp.connect(stdio, { include: ["crash", "forecast"] })
      const told = yield* ToolLoop.run({ prompt: "?", tools: weather.tools })
      const [crash, after] = results(told.transcript)
      assert.isTrue(crash?.isError)
      assert.isTrue(after?.isError)
      assert.include(after?.output, "MCP server")
      const strict = yield* Mcp.connect(stdio, { include: ["crash"], failureMode: "error" })
      const error = yield* Effect.flip(ToolLoop.run({ prompt: "?", tools: strict.tools }))
      assert.strictEqual(error._tag, "McpError")
      assert.strictEqual(error._tag === "McpError" && error.tool, "crash")
    }).pipe(
      Effect.provide(
        ScriptedModel.layer([
          Turn.toolCall("crash", {}),
          Turn.toolCall("forecast", { city: "Oslo" }),
          Turn.text("The server is gone."),
          Turn.toolCall("crash", {})
        ])
      ),
      Effect.scoped
    )
  )

  it.live("a server that cannot be started is an McpError naming it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Mcp.connect({ command: process.execPath, args: ["-e", "process.exit(3)"] }))
      assert.strictEqual(error._tag, "McpError")
      assert.include(error.server, process.execPath)
    }).pipe(Effect.scoped)
  )

  it.live("Streamable HTTP: an agent uses the tools of an official-SDK server over HTTP", () =>
    Effect.gen(function* () {
      const { url } = yield* httpServer
      const weather = yield* Mcp.connect({ url })
      const ref = yield* ActorSystem.spawn(Agent.make({ name: "forecaster", tools: weather.tools }))
      const answer = yield* ref.ask(Agent.Protocol.Ask({ prompt: "Rome, 3 days?" }), { timeout: "10 seconds" })
      assert.strictEqual(answer, "Warm.")
      const transcript = yield* ref.ask(Agent.Protocol.Transcript())
      assert.deepStrictEqual(
        results(transcript).map((r) => r.output),
        ["Rome: 21, 22, 23 °C"]
      )
    }).pipe(
      Effect.provide(ActorSystem.layer()),
      Effect.provide(ScriptedModel.layer([Turn.toolCall("forecast", { city: "Rome", days: 3 }), Turn.text("Warm.")])),
      Effect.scoped
    )
  )
})
