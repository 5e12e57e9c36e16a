/**
 * The tools of MCP (Model Context Protocol) servers, for agents and tool loops. `Mcp.connect(server)`
 * starts or reaches a server (a command over stdio, or a URL over Streamable HTTP), lists its tools and
 * returns them as {@link Tool}s: give them to `Agent.make` or `ToolLoop.run` like any other.
 *
 * - **Typed from their JSON Schema.** Each tool's input schema is sent to the model as the server wrote it,
 *   and imported as an Effect Schema that checks the model's arguments before anything is sent: arguments
 *   that do not match go back to the model as an error result, like any tool's.
 * - **Deadlines.** Each call has a deadline (`timeout`, default 60 s), and runs inside the agent's: when an
 *   ask times out or is interrupted, the call is cancelled on the server (`notifications/cancelled`).
 * - **Results.** The text of the result goes to the model (structured content as JSON when there is no
 *   text), cut at `maxResultLength` characters so that one answer cannot blow the context or the budget. A
 *   result the server marks `isError` is an error result the model reads.
 * - **Failures.** A call that fails (timed out, the server went away, a protocol error) is an {@link McpError}:
 *   by default it goes to the model as an error result too (`failureMode: "return"`); with
 *   `failureMode: "error"` it ends the tool loop, and in an agent it crashes the agent.
 *
 * The connection (and the server's process) lives as long as the scope. The client side is `effect/ai`'s
 * `McpClient`; protocol revision 2025-11-25 by default (the official SDK's servers speak it), or 2026-07-28.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const files = yield* Mcp.connect({ command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "."] })
 *   const docs = yield* Mcp.connect({ url: "http://localhost:8000/mcp" }, { prefix: "docs_" })
 *   const agent = Agent.make({ name: "helper", tools: [...files.tools, ...docs.tools] })
 * }).pipe(Effect.scoped)
 * ```
 */
import { Duration, Effect, Layer, Schema, type Scope } from "effect"
import type { McpSchema } from "effect/ai"
import { FetchHttpClient } from "effect/http"
import { ChildProcess } from "effect/process"
import { badDurations } from "./internal/durations.ts"
import * as McpStdout from "./internal/mcpStdout.ts"
import * as Tool from "./Tool.ts"

/** A server started as a child process, speaking MCP over its stdin and stdout. */
export interface Stdio {
  readonly command: string
  readonly args?: ReadonlyArray<string> | undefined
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly cwd?: string | undefined
}

/** A server reached over Streamable HTTP, e.g. `http://localhost:8000/mcp`. */
export interface Http {
  readonly url: string
  /** Sent with every request, e.g. `{ authorization: "Bearer …" }`. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** An MCP server to use. */
export type Server = Stdio | Http

/**
 * A call to an MCP server failed: it did not answer in time, went away, broke the protocol, or answered more than
 * `maxResultBytes` (reason `ResultTooLarge`).
 */
export class McpError extends Schema.TaggedError<McpError>()("McpError", {
  message: Schema.String,
  /** The server, as given: its command or URL. */
  server: Schema.String,
  /** The tool, when a call failed. */
  tool: Schema.optionalKey(Schema.String),
  /**
   * What went wrong: `TimeoutError`, `TransportError`, `ProtocolError`, `ClosedError`, `HttpError`,
   * `ResultTooLarge`, `ConfigurationError`, …
   */
  reason: Schema.String
}) {
  get retryable(): boolean {
    return this.reason === "TimeoutError" || this.reason === "TransportError" || this.reason === "HttpError"
  }
}

/** Options of {@link connect}. */
export interface Options {
  /** Prefixed to the tool names the model sees, e.g. `"github_"`, to tell servers apart. */
  readonly prefix?: string | undefined
  /** Which tools to offer, by their name on the server; default all. */
  readonly include?: ReadonlyArray<string> | ((tool: McpSchema.Tool) => boolean) | undefined
  /** The deadline of each tool call. Default 60 seconds. */
  readonly timeout?: Duration.Input | undefined
  /** The deadline to connect and list the tools. Default 30 seconds. */
  readonly connectTimeout?: Duration.Input | undefined
  /** Results longer than this many characters are cut, with a note. Default 100,000. */
  readonly maxResultLength?: number | undefined
  /**
   * The largest answer the server may send, in bytes (JSON, as sent). A tool result over it is not read: that
   * call fails with an {@link McpError} of reason `ResultTooLarge` (which goes to the model by default) and the
   * connection goes on serving the other calls. Default 16 MiB.
   */
  readonly maxResultBytes?: number | undefined
  /** What a failed call does: `"return"` (default) tells the model; `"error"` ends the tool loop. */
  readonly failureMode?: "return" | "error" | undefined
  /** The protocol revision. Default `"2025-11-25"`. */
  readonly protocol?: "2025-11-25" | "2026-07-28" | undefined
}

/** A tool of an MCP server. */
export type McpTool = Tool.Tool<
  string,
  Readonly<Record<string, unknown>>,
  { output: string; isError: boolean },
  McpError,
  never
>

/** A connection to an MCP server and its tools. */
export interface Connection {
  /** The server's name and version, as it says. */
  readonly info: { readonly name: string; readonly version: string } | undefined
  /** Its tools, as listed when connecting. */
  readonly tools: ReadonlyArray<McpTool>
  /** Lists the tools again (servers may change them). */
  readonly refresh: Effect.Effect<ReadonlyArray<McpTool>, McpError>
}

const isHttpUrl = (url: string): boolean => {
  try {
    const { protocol } = new URL(url)
    return protocol === "http:" || protocol === "https:"
  } catch {
    return false
  }
}

/**
 * Why a transport failed, from the causes under the client's error (`: spawn mcp-server ENOENT`, `: connect
 * ECONNREFUSED 127.0.0.1:3000`): each message not said already, innermost last.
 */
const causes = (cause: unknown, said: string): string => {
  const parts: Array<string> = []
  for (let at = cause, depth = 0; at !== undefined && at !== null && depth < 6; depth++) {
    const message = at instanceof Error ? at.message : typeof at === "string" ? at : undefined
    if (message !== undefined && message.length > 0 && !said.includes(message) && !parts.includes(message)) {
      parts.push(message)
    }
    at = typeof at === "object" && "cause" in at ? (at as { readonly cause?: unknown }).cause : undefined
  }
  return parts.map((part) => `: ${part}`).join("")
}

const describe = (server: Server) => ("url" in server ? server.url : [server.command, ...(server.args ?? [])].join(" "))

/**
 * effect's MCP client and Node's services (to start a stdio server), imported at the first connection: a process
 * that imports `@troupe/llm` and connects to no MCP server does not load them.
 */
const modules = Effect.promise(async () => {
  const [McpClient, McpProtocol, NodeServices] = await Promise.all([
    import("effect/ai/McpClient"),
    import("effect/ai/McpProtocol"),
    import("@effect/platform-node/NodeServices")
  ])
  const protocols = { "2025-11-25": McpProtocol.v2025_11_25, "2026-07-28": McpProtocol.v2026_07_28 } as const
  return { McpClient, NodeServices, protocols }
})

/** What a result tells the model: its text parts, else its structured content as JSON. */
const textOf = (result: McpSchema.CallToolResult): string => {
  const parts = result.content.map((part) => {
    switch (part.type) {
      case "text":
        return part.text
      case "resource":
        return "text" in part.resource ? part.resource.text : `[resource ${part.resource.uri}]`
      case "resource_link":
        return `[resource ${part.uri}]`
      default:
        return `[${part.type} ${part.mimeType}]`
    }
  })
  return parts.length > 0 || result.structuredContent === undefined
    ? parts.join("\n")
    : JSON.stringify(result.structuredContent)
}

/**
 * Connects to an MCP server and lists its tools. Scoped: the connection, and the server's process for a
 * stdio server, end with the scope. Fails with {@link McpError} when the server cannot be started or
 * reached, or does not answer within `connectTimeout`, and with reason `ConfigurationError` for an option that
 * is not one (a `timeout` that is not a duration, say).
 */
export const connect = (server: Server, options?: Options): Effect.Effect<Connection, McpError, Scope.Scope> =>
  Effect.gen(function* () {
    const name = describe(server)
    const maxResultBytes = options?.maxResultBytes ?? 16 * 1024 * 1024
    const failure =
      (tool: string | undefined) =>
      (error: {
        readonly reason: { readonly _tag: string; readonly cause?: unknown; readonly code?: number | undefined }
        readonly message: string
      }) => {
        const tooLarge =
          (error.reason._tag === "ProtocolError" && error.reason.code === McpStdout.TOO_LARGE_CODE) ||
          error.reason._tag === "LimitError"
        return new McpError({
          message: `MCP server ${name}${tool === undefined ? "" : `, tool "${tool}"`}: ${error.message}${causes(error.reason.cause, error.message)}${tooLarge ? `; raise the option maxResultBytes (now ${maxResultBytes}) or have the tool answer less` : ""}`,
          server: name,
          ...(tool === undefined ? {} : { tool }),
          reason: tooLarge ? "ResultTooLarge" : error.reason._tag
        })
      }
    const badOption =
      badDurations("", options, ["timeout", "connectTimeout"]) ??
      (options?.maxResultBytes === undefined ||
      (Number.isSafeInteger(options.maxResultBytes) && options.maxResultBytes > 0)
        ? undefined
        : `maxResultBytes is ${String(options.maxResultBytes)}: expected a whole number of bytes from 1`)
    if (badOption !== undefined) {
      return yield* new McpError({
        message: `MCP server ${name}: the option ${badOption}`,
        server: name,
        reason: "ConfigurationError"
      })
    }
    if ("url" in server && !isHttpUrl(server.url)) {
      return yield* new McpError({
        message: `MCP server ${name}: not an http(s) URL; give the server's Streamable HTTP endpoint, e.g. http://localhost:3000/mcp`,
        server: name,
        reason: "ConfigurationError"
      })
    }
    const { McpClient, NodeServices, protocols } = yield* modules
    const protocol = protocols[options?.protocol ?? "2025-11-25"]
    const transport =
      "url" in server
        ? McpClient.http({ url: server.url, protocol, headers: server.headers, maxMessageBytes: maxResultBytes }).pipe(
            Effect.provide(FetchHttpClient.layer)
          )
        : McpClient.stdio({
            command: ChildProcess.make(server.command, [...(server.args ?? [])], {
              ...(server.cwd === undefined ? {} : { cwd: server.cwd }),
              ...(server.env === undefined ? {} : { env: server.env, extendEnv: true })
            }),
            protocol,
            maxMessageBytes: maxResultBytes
          }).pipe(Effect.provide(McpStdout.layer(name, maxResultBytes).pipe(Layer.provide(NodeServices.layer))))
    const timeout = Duration.fromInputUnsafe(options?.connectTimeout ?? "30 seconds")
    const client = yield* transport.pipe(
      Effect.flatMap((opened) =>
        McpClient.make({ name: "troupe", version: "0.1.0", timeout }).pipe(
          Effect.provideService(McpClient.Transport, opened)
        )
      ),
      Effect.mapError(failure(undefined))
    )
    const include = options?.include
    const offered = (tool: McpSchema.Tool) =>
      include === undefined ? true : typeof include === "function" ? include(tool) : include.includes(tool.name)
    const maxLength = options?.maxResultLength ?? 100_000
    const callTimeout = options?.timeout ?? "60 seconds"

    const toTool = (tool: McpSchema.Tool): McpTool => {
      const call = (params: Readonly<Record<string, unknown>>) =>
        client.callTool({ tool, arguments: params }, { timeout: callTimeout }).pipe(
          Effect.withSpan(`tools/call ${tool.name}`, {
            kind: "client",
            attributes: {
              "mcp.method.name": "tools/call",
              "mcp.protocol.version": client.protocolVersion,
              "gen_ai.operation.name": "execute_tool",
              "gen_ai.tool.name": tool.name,
              "troupe.mcp.server": name
            }
          }),
          Effect.map((result) => {
            const text = textOf(result)
            const output =
              text.length > maxLength
                ? `${text.slice(0, maxLength)}\n[cut: the result was ${text.length} characters, ${maxLength} are shown]`
                : text
            return { output, isError: result.isError === true }
          }),
          Effect.mapError(failure(tool.name))
        )
      return Tool.fromJsonSchema(`${options?.prefix ?? ""}${tool.name}`, {
        description: tool.description ?? tool.title ?? tool.name,
        jsonSchema: tool.inputSchema,
        type: "extension",
        handler:
          options?.failureMode === "error"
            ? call
            : (params) =>
                Effect.catchTag(call(params), "McpError", (error) =>
                  Effect.succeed({ output: error.message, isError: true })
                )
      })
    }

    const list = client.listTools().pipe(
      Effect.mapError(failure(undefined)),
      Effect.map((tools) => tools.filter(offered).map(toTool))
    )
    return {
      info: client.serverInfo && { name: client.serverInfo.name, version: client.serverInfo.version },
      tools: yield* list,
      refresh: list
    }
  })
