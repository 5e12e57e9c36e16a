/**
 * Tools a model can call: a name, a description, Schema-typed parameters and result, and a handler that is
 * any Effect (a computation, an HTTP call, an `ask` to an actor).
 *
 * Each call runs in a span `Tool.call` (attributes `troupe.tool`, `troupe.tool.call_id`).
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
import { type Duration, Effect, type JsonSchema, Predicate, Schema } from "effect"
import { decodeJson, strict } from "./internal/structured.ts"
import * as Message from "./Message.ts"

/** What a request tells the model about a tool. */
export interface Definition {
  readonly name: string
  readonly description: string
  /** The parameters as strict-mode JSON Schema. */
  readonly jsonSchema: JsonSchema.JsonSchema
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
  parameters: Schema.Codec<Params, unknown>,
  handler: (params: Params) => Effect.Effect<Success, E, R>,
  respond: (params: Params) => Effect.Effect<Output, E, R>
): Tool<Name, Params, Success, E, R> => {
  const { codec, jsonSchema } = strict(parameters)
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
      Effect.withSpan("Tool.call", { attributes: { "troupe.tool": name, "troupe.tool.call_id": request.id } })
    )
  return { name, description, jsonSchema, parameters, handler, call }
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
  /** The ask's deadline; the system's default otherwise. */
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
