/**
 * A tool result far larger than any model could read (20 MB, 60 MB with TROUPE_LONG=1, from an MCP server over stdio, written by the
 * official SDK) fails that call with `McpError` (reason `ResultTooLarge`, naming the size and the option
 * `maxResultBytes`) and the connection goes on serving: a call made meanwhile and calls after it answer, and
 * the client never holds the result whole. Before, `effect/ai`'s client read the whole line (a scan of its
 * buffer per chunk) and then closed the connection for good ("MCP message exceeds maxMessageBytes").
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { Mcp, type Message } from "../src/index.ts"
import * as McpStdout from "../src/internal/mcpStdout.ts"

const server: Mcp.Stdio = {
  command: process.execPath,
  args: [new URL("./fixtures/bigResultMcpServer.ts", import.meta.url).pathname]
}

/** 60 MB with TROUPE_LONG=1; 20 MB by default (over the default bound, 16 MiB, still). */
const long = process.env.TROUPE_LONG === "1"
const size = long ? 60 : 20

const call = (connection: Mcp.Connection, name: string, args: unknown) =>
  connection.tools
    .find((tool) => tool.name === name)!
    .call({ _tag: "ToolCall", id: `call-${name}`, name, arguments: JSON.stringify(args) } satisfies Message.ToolCall)

describe("an MCP tool result larger than maxResultBytes", () => {
  it.live(
    `${size} MB: that call fails ResultTooLarge; the connection keeps serving the other calls`,
    () =>
      Effect.gen(function* () {
        const connection = yield* Mcp.connect(server, { failureMode: "error" })
        const big = yield* Effect.forkChild(Effect.flip(call(connection, "big", { size })))
        const during = yield* call(connection, "echo", { text: "meanwhile" })
        assert.deepInclude(during, { output: "meanwhile", isError: false })
        const error = yield* Fiber.join(big)
        assert.strictEqual(error._tag, "McpError")
        assert.strictEqual(error.reason, "ResultTooLarge")
        assert.strictEqual(error.tool, "big")
        assert.include(error.message, "maxResultBytes")
        const bytes = Number(
          /the answer is (\d+) bytes, more than maxResultBytes \(16777216\)/.exec(error.message)?.[1]
        )
        assert.isTrue(bytes > size * 1024 * 1024 && bytes < size * 1024 * 1024 + 200, error.message)
        const after = yield* call(connection, "echo", { text: "still here" })
        assert.deepInclude(after, { output: "still here", isError: false })
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "the bound is an option: 1 MB refused at maxResultBytes 1 MiB, kept at 4 MiB; the model is told (failureMode return)",
    () =>
      Effect.gen(function* () {
        const small = yield* Mcp.connect(server, { maxResultBytes: 1024 * 1024 })
        const refused = yield* call(small, "big", { size: 1 })
        assert.isTrue(refused.isError)
        assert.include(refused.output, "maxResultBytes")
        const large = yield* Mcp.connect(server, { maxResultBytes: 4 * 1024 * 1024, maxResultLength: 10 })
        const kept = yield* call(large, "big", { size: 1 })
        assert.isFalse(kept.isError)
        assert.include(kept.output, "[cut: the result was 1048576 characters")
      }).pipe(Effect.scoped)
  )
})

describe("the stdout filter's bound", () => {
  const run = (chunks: ReadonlyArray<string>, maxBytes: number) =>
    Effect.gen(function* () {
      const tooLarge: Array<McpStdout.TooLarge> = []
      const out = yield* McpStdout.messagesOnly(Stream.encodeText(Stream.fromIterable(chunks)), () => Effect.void, {
        maxBytes,
        tooLarge: (message) => Effect.sync(() => void tooLarge.push(message))
      }).pipe(Stream.decodeText, Stream.mkString)
      return { out, tooLarge }
    })

  it.effect("a message over the bound becomes an error answer to its id (first or last), the others pass", () =>
    Effect.gen(function* () {
      const { out, tooLarge } = yield* run(
        [
          '{"jsonrpc":"2.0","id":"a\\"1","result":{"t":"',
          "y".repeat(50),
          '"}}\n{"id":2}\n{"result":{"t":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"},"jsonrpc":"2.0","id":3}\r\n',
          '{"method":"notifications/message","params":{"data":"wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww"}}\n{"id":4}\n'
        ],
        30
      )
      const lines = out.split("\n").filter((l) => l !== "")
      assert.strictEqual(lines.length, 4)
      assert.deepInclude(JSON.parse(lines[0]!), { id: 'a"1' })
      assert.strictEqual(JSON.parse(lines[0]!).error.data.troupe, "ResultTooLarge")
      assert.deepStrictEqual(JSON.parse(lines[1]!), { id: 2 })
      assert.deepInclude(JSON.parse(lines[2]!), { id: 3 })
      assert.deepStrictEqual(JSON.parse(lines[3]!), { id: 4 })
      assert.deepStrictEqual(
        tooLarge.map((t) => [t.id, t.bytes]),
        [
          ['"a\\"1"', 97],
          ["3", 83],
          [undefined, 89]
        ]
      )
    })
  )
})
