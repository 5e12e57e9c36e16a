/**
 * An MCP server over stdio that writes something other than MCP to its stdout (a `console.log` in a tool): the
 * official SDK's client skips such a line and goes on. Ours must too: the call answers, and the connection
 * keeps working for the calls after it (it was closed for good at the first such line: "Invalid MCP JSON" for
 * every call after).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Mcp, type Message } from "../src/index.ts"
import * as McpStdout from "../src/internal/mcpStdout.ts"

const server: Mcp.Stdio = {
  command: process.execPath,
  args: [new URL("./fixtures/chattyMcpServer.ts", import.meta.url).pathname]
}

const call = (connection: Mcp.Connection, name: string, args: unknown) =>
  connection.tools
    .find((tool) => tool.name === name)!
    .call({ _tag: "ToolCall", id: `call-${name}`, name, arguments: JSON.stringify(args) } satisfies Message.ToolCall)

describe("an MCP server that writes a log line to stdout", () => {
  it.live("the line is skipped: the call answers, and the next calls too", () =>
    Effect.gen(function* () {
      const connection = yield* Mcp.connect(server)
      const chatty = yield* call(connection, "chatty", {})
      assert.deepInclude(chatty, { output: "chatty done", isError: false })
      const echo = yield* call(connection, "echo", { text: "still here" })
      assert.deepInclude(echo, { output: "still here", isError: false })
    }).pipe(Effect.scoped)
  )
})

describe("the stdout filter", () => {
  const run = (chunks: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      const dropped: Array<string> = []
      const out = yield* McpStdout.messagesOnly(Stream.encodeText(Stream.fromIterable(chunks)), (start) =>
        Effect.sync(() => void dropped.push(start))
      ).pipe(Stream.decodeText, Stream.mkString)
      return { out, dropped }
    })

  it.effect("keeps message lines whole across chunks, drops the others, keeps blank lines", () =>
    Effect.gen(function* () {
      const { out, dropped } = yield* run(['{"a":', "1}\nlog li", "ne\n", "\n  {", '"b":2}\r\n', "x\n", '{"c":3}'])
      assert.strictEqual(out, '{"a":1}\n\n  {"b":2}\r\n{"c":3}')
      assert.deepStrictEqual(dropped, ["log line", "x"])
    })
  )
})
