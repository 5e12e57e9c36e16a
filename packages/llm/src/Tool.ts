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
import { Effect, type JsonSchema, Predicate, Schema } from "effect"
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
  const { codec, jsonSchema } = strict(options.parameters)
  const encode = Schema.encodeEffect(options.success)
  const handler = options.handler
  const call = (request: Message.ToolCall): Effect.Effect<Message.ToolResult, E, R> =>
    decodeJson(
      codec as Schema.ConstraintCodec<Params, unknown>,
      request.arguments,
      `The arguments of tool "${name}"`
    ).pipe(
      Effect.matchEffect({
        onFailure: (invalid) => Effect.succeed(Message.toolResult(request, invalid.message, true)),
        onSuccess: (params) =>
          handler(params).pipe(
            Effect.flatMap((success) => Effect.orDie(encode(success))),
            Effect.map((encoded) =>
              Message.toolResult(request, typeof encoded === "string" ? encoded : JSON.stringify(encoded))
            ),
            options.failureMode === "return"
              ? Effect.catch((e: E) => Effect.succeed(Message.toolResult(request, describeFailure(e), true)))
              : (effect) => effect
          )
      }),
      Effect.withSpan("Tool.call", { attributes: { "troupe.tool": name, "troupe.tool.call_id": request.id } })
    )
  return { name, description: options.description, jsonSchema, handler, call }
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
