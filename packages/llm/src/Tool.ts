/**
 * Tools a model can call: a name, a description, Schema-typed parameters and result, and a handler that is
 * any Effect (a computation, an HTTP call, an `ask` to an actor).
 *
 * Each call runs in a span `execute_tool {name}` (attributes `gen_ai.tool.name`, `gen_ai.tool.call.id`,
 * `gen_ai.tool.type`, and `error.type` when the result is an error).
 * The model's arguments are decoded with the parameters schema. Arguments that are not JSON or do not
 * decode are not a crash: the call answers the model with an error result that lists the issues, so the
 * model can correct itself. What the handler's failures do is the tool's choice (`failureMode`):
 * - `"error"` (default): the failure ends the tool loop with that typed error;
 * - `"return"`: the failure is reported to the model as an error result, and the loop goes on.
 *
 * @example
 * ```ts
 * const weather = Tool.make("weather", {
 *   description: "Current temperature in a city",
 *   parameters: Schema.Struct({ city: Schema.String }),
 *   success: Schema.Struct({ celsius: Schema.Finite }),
 *   handler: ({ city }) => Effect.succeed({ celsius: city === "Oslo" ? 3 : 21 })
 * })
 * ```
 */
import { type ActorRef, Protocol } from "@troupe/runtime"
import { type Duration, Effect, JsonSchema, Predicate, Schema, SchemaRepresentation } from "effect"
import { badDurations } from "./internal/durations.ts"
import { decodeJson, strict } from "./internal/structured.ts"
import * as Message from "./Message.ts"

/** What a request tells the model about a tool. */
export interface Definition {
  readonly name: string
  readonly description: string
  /** The parameters as JSON Schema: strict-mode JSON Schema unless `strict` is `false`. */
  readonly jsonSchema: JsonSchema.JsonSchema
  /** `false` for a schema sent as it is, e.g. an MCP server's (the arguments are checked here, not by the API). */
  readonly strict?: boolean | undefined
}

/** A tool with its handler. `E` and `R` are what running it may fail with and needs. */
export interface Tool<Name extends string, Params, Success, E, R> extends Definition {
  readonly name: Name
  /** The arguments' schema. */
  readonly parameters: Schema.Codec<Params, unknown>
  /** The handler, for calling the tool directly. */
  readonly handler: (params: Params) => Effect.Effect<Success, E, R>
  /** Runs a call from the model: decodes the arguments, runs the handler, encodes the result. */
  readonly call: (call: Message.ToolCall) => Effect.Effect<Message.ToolResult, E, R>
}

/** Any tool. */
export interface Any extends Definition {
  readonly call: (call: Message.ToolCall) => Effect.Effect<Message.ToolResult, unknown, unknown>
}

/** The errors that running one of the tools may end a loop with. */
export type Error<T> = T extends {
  readonly call: (call: Message.ToolCall) => Effect.Effect<infer _A, infer E, infer _R>
}
  ? E
  : never

/** The services the tools need. */
export type Services<T> = T extends {
  readonly call: (call: Message.ToolCall) => Effect.Effect<infer _A, infer _E, infer R>
}
  ? R
  : never

interface Options<Params, Success, SuccessEncoded, E, R> {
  readonly description: string
  /** The arguments. Must be a struct (OpenAI requires an object). */
  readonly parameters: Schema.Codec<Params, unknown>
  /** The result, encoded to JSON for the model (a string result is sent as is). */
  readonly success: Schema.Codec<Success, SuccessEncoded>
  readonly handler: (params: Params) => Effect.Effect<Success, E, R>
}

/** Makes a tool whose handler failures end the tool loop (the default). */
export function make<const Name extends string, Params, Success, SuccessEncoded, E = never, R = never>(
  name: Name,
  options: Options<Params, Success, SuccessEncoded, E, R> & { readonly failureMode?: "error" | undefined }
): Tool<Name, Params, Success, E, R>
/** Makes a tool whose handler failures are reported to the model as error results. */
export function make<const Name extends string, Params, Success, SuccessEncoded, E = never, R = never>(
  name: Name,
  options: Options<Params, Success, SuccessEncoded, E, R> & { readonly failureMode: "return" }
): Tool<Name, Params, Success, never, R>
export function make<const Name extends string, Params, Success, SuccessEncoded, E, R>(
  name: Name,
  options: Options<Params, Success, SuccessEncoded, E, R> & { readonly failureMode?: "error" | "return" | undefined }
): Tool<Name, Params, Success, E, R> {
  const { handler, failureMode } = options
  const encode = Schema.encodeEffect(options.success)
  return build(name, options.description, options.parameters, handler, (params) =>
    handler(params).pipe(
      Effect.flatMap((success) => Effect.orDie(encode(success))),
      Effect.map((encoded) => ({ output: asText(encoded), isError: false })),
      failureMode === "return"
        ? Effect.catch((e: E) => Effect.succeed({ output: describeFailure(e), isError: true }))
        : (effect) => effect
    )
  )
}

/** What a call tells the model. */
interface Output {
  readonly output: string
  readonly isError: boolean
}

/** A tool from its handler and `respond`, which runs the handler for decoded arguments and says what to answer. */
const build = <Name extends string, Params, Success, E, R>(
  name: Name,
  description: string,
  parameters:
    | Schema.Codec<Params, unknown>
    | { readonly codec: Schema.Top; readonly jsonSchema: JsonSchema.JsonSchema },
  handler: (params: Params) => Effect.Effect<Success, E, R>,
  respond: (params: Params) => Effect.Effect<Output, E, R>,
  toolType: "function" | "extension" = "function"
): Tool<Name, Params, Success, E, R> => {
  const loose = !Schema.isSchema(parameters)
  const { codec, jsonSchema } = loose ? parameters : strict(parameters)
  const call = (request: Message.ToolCall): Effect.Effect<Message.ToolResult, E, R> =>
    decodeJson(
      codec as Schema.ConstraintCodec<Params, unknown>,
      request.arguments,
      `The arguments of tool "${name}"`
    ).pipe(
      Effect.matchEffect({
        onFailure: (invalid) => Effect.succeed(Message.toolResult(request, invalid.message, true)),
        onSuccess: (params) =>
          Effect.map(respond(params), ({ output, isError }) => Message.toolResult(request, output, isError))
      }),
      Effect.tap((result) => (result.isError ? Effect.annotateCurrentSpan("error.type", "tool_error") : Effect.void)),
      Effect.withSpan(`execute_tool ${name}`, {
        attributes: {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": name,
          "gen_ai.tool.call.id": request.id,
          "gen_ai.tool.type": toolType
        }
      })
    )
  return {
    name,
    description,
    jsonSchema,
    parameters: (loose ? codec : parameters) as Schema.Codec<Params, unknown>,
    handler,
    call,
    ...(loose ? { strict: false } : {})
  }
}

/** JSON for the model; a string is sent as is. */
const asText = (encoded: unknown): string => (typeof encoded === "string" ? encoded : JSON.stringify(encoded))

/** Options of {@link fromAsk}. */
interface AskOptions<Params, P extends Protocol.Any, M extends Protocol.Request<P>> {
  readonly description: string
  /** The arguments. Must be a struct (OpenAI requires an object). */
  readonly parameters: Schema.Codec<Params, unknown>
  /** The actor to ask. */
  readonly actor: ActorRef.ActorRef<P>
  /** The request to send for the model's arguments. */
  readonly request: (params: Params) => M
  /** The ask's deadline; the system's default otherwise. One that is not a duration throws a `TypeError` naming it. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * Makes a tool that asks an actor. The model's arguments become a request (`request`), and the reply becomes
 * the tool result, encoded with the request's `success` schema. The request's declared failure is the
 * actor's answer too: it goes back to the model as an error result (encoded with the `failure` schema),
 * and the loop goes on. What the ask itself may fail with (`AskTimeout`, `RecipientTerminated`,
 * `RequestFailed`, `MailboxFull`) ends the loop (the default), or with `failureMode: "return"` is reported
 * to the model as well.
 *
 * @example
 * ```ts
 * const withdraw = Tool.fromAsk("withdraw", {
 *   description: "Withdraw money from the account",
 *   parameters: Schema.Struct({ amount: Schema.Finite }),
 *   actor: account,
 *   request: ({ amount }) => Account.Withdraw({ amount }),
 *   timeout: "2 seconds"
 * })
 * // reply 6             -> tool result "6"
 * // failure Insufficient -> error result {"_tag":"Insufficient","balance":6}
 * ```
 */
export function fromAsk<const Name extends string, Params, P extends Protocol.Any, M extends Protocol.Request<P>>(
  name: Name,
  options: AskOptions<Params, P, M> & { readonly failureMode?: "error" | undefined }
): Tool<Name, Params, Protocol.Success<P, M["_tag"]>, ActorRef.AskError, never>
/** Makes a tool that asks an actor, and reports failed asks to the model as error results. */
export function fromAsk<const Name extends string, Params, P extends Protocol.Any, M extends Protocol.Request<P>>(
  name: Name,
  options: AskOptions<Params, P, M> & { readonly failureMode: "return" }
): Tool<Name, Params, Protocol.Success<P, M["_tag"]>, never, never>
export function fromAsk<const Name extends string, Params, P extends Protocol.Any, M extends Protocol.Request<P>>(
  name: Name,
  options: AskOptions<Params, P, M> & { readonly failureMode?: "error" | "return" | undefined }
): Tool<Name, Params, Protocol.Success<P, M["_tag"]>, ActorRef.AskError, never> {
  const { actor, failureMode } = options
  const bad = badDurations("", options, ["timeout"])
  if (bad !== undefined) throw new TypeError(`Tool "${name}": ${bad}`)
  const askOptions = options.timeout === undefined ? {} : { timeout: options.timeout }
  const handler = (params: Params) =>
    actor.ask(options.request(params), askOptions) as Effect.Effect<Protocol.Success<P, M["_tag"]>, ActorRef.AskError>
  return build(name, options.description, options.parameters, handler, (params) =>
    Effect.suspend(() => {
      const message = options.request(params)
      const tag = (message as { readonly _tag: string })._tag
      const def = Protocol.requestDef(actor.protocol, tag)
      if (def === undefined) {
        return Effect.die(new Error(`Tool "${name}": ${actor.protocol.name} has no request "${tag}"`))
      }
      const encode = (schema: Schema.Top, value: unknown) =>
        Effect.orDie(Schema.encodeUnknownEffect(schema as Protocol.WireSchema)(value))
      return actor.ask(message, askOptions).pipe(
        Effect.matchEffect({
          onSuccess: (reply) => Effect.map(encode(def.success, reply), (e) => ({ output: asText(e), isError: false })),
          onFailure: (e: unknown) =>
            Schema.is(def.failure)(e)
              ? Effect.map(encode(def.failure, e), (encoded) => ({ output: asText(encoded), isError: true }))
              : failureMode === "return"
                ? Effect.succeed({ output: describeFailure(e), isError: true })
                : Effect.fail(e as ActorRef.AskError)
        })
      )
    })
  )
}

/** Options of {@link fromActor}. */
interface ActorOptions<Tag extends string> {
  /** Which requests to offer; default all. */
  readonly only?: ReadonlyArray<Tag> | undefined
  /** Prefixed to each tool's name (the request's tag), e.g. `"account_"`. */
  readonly prefix?: string | undefined
  /** What each request does, for the model; default `"<Protocol>.<Tag>"`. */
  readonly descriptions?: { readonly [K in Tag]?: string } | undefined
  /** The asks' deadline; the system's default otherwise. */
  readonly timeout?: Duration.Input | undefined
  /** What a failed ask does (see {@link fromAsk}); default `"error"`. */
  readonly failureMode?: "error" | "return" | undefined
}

/**
 * The requests of an actor as tools, one per request of its protocol: the parameters are the request's
 * fields, the result its reply, its declared failure an error result (see {@link fromAsk}). Offer them to
 * a model, or serve them to MCP clients (`McpServer`). Fields must be expressible as JSON (no actor refs):
 * choose the requests with `only`.
 *
 * @example
 * ```ts
 * const tools = Tool.fromActor(account, {
 *   only: ["Withdraw", "Balance"],
 *   descriptions: { Withdraw: "Withdraw money; answers the new balance", Balance: "The balance" }
 * })
 * ```
 */
export const fromActor = <P extends Protocol.Any, const Tag extends Protocol.Request<P>["_tag"]>(
  actor: ActorRef.ActorRef<P>,
  options?: ActorOptions<Tag>
): ReadonlyArray<Tool<string, unknown, unknown, ActorRef.AskError, never>> =>
  Object.keys(actor.protocol.definition)
    .filter((tag) => Protocol.requestDef(actor.protocol, tag) !== undefined)
    .filter((tag) => options?.only === undefined || (options.only as ReadonlyArray<string>).includes(tag))
    .map((tag) => {
      const def = Protocol.requestDef(actor.protocol, tag)!
      const ask = {
        description: options?.descriptions?.[tag as Tag] ?? `${actor.protocol.name}.${tag}`,
        parameters: Schema.Struct(def.fields) as unknown as Schema.Codec<unknown, unknown>,
        actor,
        request: (params: unknown) => ({ _tag: tag, ...(params as object) }) as Protocol.Request<P>,
        timeout: options?.timeout
      }
      return options?.failureMode === "return"
        ? fromAsk(`${options?.prefix ?? ""}${tag}`, { ...ask, failureMode: "return" })
        : fromAsk(`${options?.prefix ?? ""}${tag}`, ask)
    })

/** Options of {@link fromJsonSchema}. */
interface JsonSchemaOptions<E, R> {
  readonly description: string
  /** The parameters, as JSON Schema (draft 2020-12, or draft-07 when its `$schema` says so). */
  readonly jsonSchema: JsonSchema.JsonSchema
  /** Runs a call with the checked arguments; the answer is the tool result's text and whether it is an error. */
  readonly handler: (params: Readonly<Record<string, unknown>>) => Effect.Effect<Output, E, R>
  /** `gen_ai.tool.type` on its spans: `"function"` (default), or `"extension"` for a remote service's tool. */
  readonly type?: "function" | "extension" | undefined
}

/**
 * Makes a tool whose parameters are a JSON Schema rather than an Effect Schema, such as the tools an MCP
 * server lists. The schema is sent to the model as it is (not in strict mode), and imported as an Effect
 * Schema that checks the model's arguments before the handler runs: arguments that do not match go back to
 * the model as an error result, like any tool's. A schema that cannot be imported (a keyword Effect does not
 * translate) checks only that the arguments are a JSON object, and the handler's side checks the rest.
 *
 * @example
 * ```ts
 * const search = Tool.fromJsonSchema("search", {
 *   description: "Search the docs",
 *   jsonSchema: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
 *   handler: ({ query }) => Effect.succeed({ output: `results for ${query}`, isError: false })
 * })
 * ```
 */
export const fromJsonSchema = <const Name extends string, E = never, R = never>(
  name: Name,
  options: JsonSchemaOptions<E, R>
): Tool<Name, Readonly<Record<string, unknown>>, Output, E, R> =>
  build(name, options.description, importJsonSchema(options.jsonSchema), options.handler, options.handler, options.type)

const anyObject = Schema.Record(Schema.String, Schema.Unknown)

/** A JSON Schema as a checking codec, and as sent to the model (without `$schema`). */
const importJsonSchema = (jsonSchema: JsonSchema.JsonSchema) => {
  const { $schema, ...sent } = jsonSchema as JsonSchema.JsonSchema & { readonly $schema?: unknown }
  let codec: Schema.Top
  try {
    const document =
      typeof $schema === "string" && /draft-0[467]/.test($schema)
        ? JsonSchema.fromSchemaDraft07(jsonSchema)
        : JsonSchema.fromSchemaDraft2020_12(jsonSchema)
    codec = SchemaRepresentation.fromJsonSchemaDocument(document, { patterns: "ignore" })
  } catch {
    codec = anyObject
  }
  return { codec, jsonSchema: sent as JsonSchema.JsonSchema }
}

/** A readable line for a tool failure reported to the model. */
const describeFailure = (e: unknown): string => {
  if (Predicate.hasProperty(e, "message") && typeof e.message === "string") {
    return Predicate.hasProperty(e, "_tag") && typeof e._tag === "string" ? `${e._tag}: ${e.message}` : e.message
  }
  return typeof e === "string" ? e : JSON.stringify(e)
}

/** The error result for a call to a tool that does not exist. */
export const unknownTool = (call: Message.ToolCall, tools: ReadonlyArray<Definition>): Message.ToolResult =>
  Message.toolResult(
    call,
    `There is no tool named "${call.name}". Available tools: ${tools.map((t) => t.name).join(", ") || "none"}.`,
    true
  )
