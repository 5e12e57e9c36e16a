/**
 * An MCP server written with Troupe: a `utc_offset` tool served over stdio, for any MCP client (an IDE, a
 * desktop assistant, a Troupe agent: see ../readme/mcp.ts). Start it as a child process:
 * `node packages/examples/src/mcp/world-clock.ts`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { McpServer, Tool } from "@troupe/llm"
import { Effect, Schema } from "effect"

const offsets: Readonly<Record<string, string>> = { Oslo: "UTC+01:00", London: "UTC+00:00", Tokyo: "UTC+09:00" }

const utcOffset = Tool.make("utc_offset", {
  description: "The UTC offset of a city (in winter)",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.String,
  handler: ({ city }) => Effect.succeed(offsets[city] ?? "unknown")
})

NodeRuntime.runMain(McpServer.serveStdio({ name: "world-clock", version: "1.0.0", tools: [utcOffset] }))
