/**
 * A Troupe system as an MCP (Model Context Protocol) server: any MCP client (an IDE, a desktop assistant,
 * another agent framework) can call into it. What it serves are {@link Tool}s, so anything a tool can be is
 * served: an agent (`Agent.asTool`), an actor's requests (`Tool.fromActor`, `Tool.fromAsk`), any Effect
 * (`Tool.make`), even another MCP server's tools.
 *
 * - `serveHttp` serves Streamable HTTP on a port (scoped: it stops with the scope);
 * - `serveStdio` serves this process's stdin and stdout, for clients that start it as a child process.
 *
 * A call's arguments are checked by the tool's schema: bad ones, and the tool's own failures, are results
 * with `isError` that the client's model can read. When the client cancels a call (or closes the
 * connection), the call is interrupted: an agent's ask, and the model call under it, stop. Defects are
 * logged and answered with an internal error. The server is `effect/ai`'s `McpServer`; it speaks every
 * protocol revision from 2025-03-26 to 2026-07-28.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const assistant = yield* ActorSystem.spawn(Agent.make({ name: "assistant", tools: [weather] }))
 *   const { url } = yield* McpServer.serveHttp({
 *     name: "troupe",
 *     port: 3000,
 *     tools: [Agent.asTool("ask_assistant", { agent: assistant, description: "Ask our assistant" })]
 *   })
 * })
 * ```
 */
import { createServer } from "node:http"
import { Cause, Context, Effect, Layer, type Scope } from "effect"
import type { McpSchema } from "effect/ai"
import { HttpRouter, HttpServer, type HttpServerError } from "effect/http"
import * as Message from "./Message.ts"
import type * as Tool from "./Tool.ts"

/** What every server is given. */
export interface Options<Tools extends ReadonlyArray<Tool.Any>> {
  /** The server's name, as clients show it. */
  readonly name: string
  /** Default `"0.1.0"`. */
  readonly version?: string | undefined
  /** Told to clients: how to use the server. */
  readonly instructions?: string | undefined
  readonly tools: Tools
}

/** Options of {@link serveHttp}. */
export interface HttpOptions<Tools extends ReadonlyArray<Tool.Any>> extends Options<Tools> {
  /** Default 0: a free port. */
  readonly port?: number | undefined
  /** Default `"127.0.0.1"`: put authentication in front before serving other hosts. */
  readonly host?: string | undefined
  /** Default `"/mcp"`. */
  readonly path?: `/${string}` | undefined
  /** Browser origins allowed to call (requests with another `Origin` are refused). */
  readonly allowedOrigins?: ReadonlyArray<string> | undefined
}

/**
 * effect's MCP server, imported when a server is first started: a process that imports `@troupe/llm` and serves
 * nothing does not load it.
 */
const modules = Effect.promise(async () => {
  const [EffectMcpServer, McpProtocol, McpSchema] = await Promise.all([
    import("effect/ai/McpServer"),
    import("effect/ai/McpProtocol"),
    import("effect/ai/McpSchema")
  ])
  const protocols = [
    McpProtocol.v2026_07_28,
    McpProtocol.v2025_11_25,
    McpProtocol.v2025_06_18,
    McpProtocol.v2025_03_26
  ] as const
  return { EffectMcpServer, McpSchema, protocols }
})

type Modules = Effect.Success<typeof modules>

/** Registers each tool with the server: a call runs the tool, and its result is the call's result. */
const registrations = <Tools extends ReadonlyArray<Tool.Any>>({ EffectMcpServer, McpSchema }: Modules, tools: Tools) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const server = yield* EffectMcpServer.McpServer
      const services = yield* Effect.context<Tool.Services<Tools[number]>>()
      for (const tool of tools) {
        yield* server.addTool({
          tool: new McpSchema.Tool({
            name: tool.name,
            description: tool.description,
            inputSchema: tool.jsonSchema as McpSchema.Tool["inputSchema"]
          }),
          annotations: Context.empty(),
          handle: (payload: unknown) =>
            tool.call(Message.toolCall(`mcp_${tool.name}`, tool.name, JSON.stringify(payload ?? {}))).pipe(
              Effect.map(
                (result) =>
                  new McpSchema.CallToolResult({
                    content: [{ type: "text", text: result.output }],
                    isError: result.isError
                  })
              ),
              // The tool's failures are results the client's model can read; defects are internal errors.
              Effect.catchCause((cause) => {
                if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
                const failure = cause.reasons.find((r) => r._tag === "Fail")
                if (failure !== undefined && !Cause.hasDies(cause)) {
                  return Effect.succeed(
                    new McpSchema.CallToolResult({
                      content: [{ type: "text", text: describe(failure.error) }],
                      isError: true
                    })
                  )
                }
                return Effect.logError(`MCP tool "${tool.name}" failed`, cause).pipe(
                  Effect.andThen(
                    Effect.fail(new McpSchema.InternalError({ message: `the tool "${tool.name}" failed` }))
                  )
                )
              }),
              Effect.provideContext(services as Context.Context<unknown>)
            ) as Effect.Effect<McpSchema.CallToolResult, McpSchema.InternalError>
        })
      }
    })
  )

const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? "_tag" in error && typeof error._tag === "string"
      ? `${error._tag}: ${error.message}`
      : error.message
    : String(error)

/**
 * Serves tools over Streamable HTTP, on `http://{host}:{port}{path}`, for as long as the scope lasts.
 * Returns the URL (with the port bound when `port` is 0).
 */
export const serveHttp = <const Tools extends ReadonlyArray<Tool.Any>>(
  options: HttpOptions<Tools>
): Effect.Effect<{ readonly url: string }, HttpServerError.ServeError, Scope.Scope | Tool.Services<Tools[number]>> =>
  Effect.gen(function* () {
    const loaded = yield* modules
    const NodeHttpServer = yield* Effect.promise(() => import("@effect/platform-node/NodeHttpServer"))
    const path = options.path ?? "/mcp"
    const app = loaded.EffectMcpServer.layerHttp({
      name: options.name,
      version: options.version ?? "0.1.0",
      instructions: options.instructions,
      path,
      protocols: loaded.protocols,
      allowedOrigins: options.allowedOrigins,
      allowSessionTermination: true,
      registrations: registrations(loaded, options.tools)
    })
    const server = HttpRouter.serve(app, { disableListenLog: true, disableLogger: true }).pipe(
      Layer.provideMerge(
        NodeHttpServer.layer(createServer, { port: options.port ?? 0, host: options.host ?? "127.0.0.1" })
      )
    )
    const context = yield* Layer.build(server as Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError>)
    const address = Context.get(context, HttpServer.HttpServer).address
    return { url: `${HttpServer.formatAddress(address)}${path}` }
  })

/**
 * Serves tools over this process's stdin and stdout until stdin ends: the program an MCP client starts as
 * a child process. Nothing else may write to stdout (logs go to stderr).
 */
export const serveStdio = <const Tools extends ReadonlyArray<Tool.Any>>(
  options: Options<Tools>
): Effect.Effect<void, never, Tool.Services<Tools[number]>> =>
  Effect.flatMap(
    Effect.zip(
      modules,
      Effect.promise(() => import("@effect/platform-node/NodeStdio"))
    ),
    ([loaded, NodeStdio]) =>
      Layer.launch(
        loaded.EffectMcpServer.layerStdio({
          name: options.name,
          version: options.version ?? "0.1.0",
          instructions: options.instructions,
          protocols: loaded.protocols,
          registrations: registrations(loaded, options.tools)
        }).pipe(Layer.provide(NodeStdio.layer))
      ).pipe(Effect.orDie)
  ) as Effect.Effect<void, never, Tool.Services<Tools[number]>>
