/**
 * An MCP server that cannot be started or reached: `Mcp.connect` fails with an `McpError` whose message says
 * why (the command is not found, the connection was refused, the URL is not one), not only that it failed.
 */
import { createServer } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Mcp } from "../src/index.ts"

/** A port nothing listens on: bound, then closed. */
const closedPort = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number }
        server.close(() => resolve(port))
      })
    })
)

describe("an MCP server that cannot be started or reached", () => {
  it.live("a command that does not exist: the error says it was not found", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.scoped(Mcp.connect({ command: "/no/such/mcp-server" })))
      assert.strictEqual(error.reason, "TransportError")
      assert.match(error.message, /^MCP server \/no\/such\/mcp-server: Cannot spawn MCP server/)
      assert.match(error.message, /ENOENT/)
    })
  )

  it.live("a URL where nothing listens: the error says the connection was refused", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const error = yield* Effect.flip(Effect.scoped(Mcp.connect({ url: `http://127.0.0.1:${port}/mcp` })))
      assert.strictEqual(error.reason, "TransportError")
      assert.match(error.message, /ECONNREFUSED/)
    })
  )

  it.live("a URL that is not one: the error says so", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.scoped(Mcp.connect({ url: "localhost:3000/mcp" })))
      assert.match(error.message, /URL/i)
      assert.notMatch(error.message, /: MCP HTTP request failed$/)
    })
  )
})
