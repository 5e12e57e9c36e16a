/**
 * Runs a model with tools until it answers: call the model, run the tools it asks for (concurrently), feed
 * the results back, and again, for at most `maxSteps` model calls.
 *
 * - A call with arguments that do not decode, or to an unknown tool, is answered with an error result the
 *   model can read; the loop goes on.
 * - With `output`, the final answer is JSON decoded by that schema (strict structured output); an answer
 *   that does not decode is sent back to the model with its issues, up to `maxOutputRetries` times.
 * - With `onEvent`, the model is streamed and every event (and every tool result) is handed to it.
 * - Interrupting the loop interrupts the model call or the running tools.
 *
 * The result holds the answer, the whole transcript, the responses, and the usage and cost summed over steps.
 *
 * @example
 * ```ts
 * const result = yield* ToolLoop.run({
 *   system: "You are a weather assistant.",
 *   prompt: "Is it cold in Oslo?",
 *   tools: [weather],
 *   maxSteps: 5
 * })
 * result.text // "Yes: 3 °C."
 * ```
 */
import { Effect, type Schema, Stream } from "effect"
import { decodeJson, strict } from "./internal/structured.ts"
import type * as LanguageModel from "./LanguageModel.ts"
import { LanguageModel as Model } from "./LanguageModel.ts"
import { type LlmError, MaxStepsExceeded } from "./LlmError.ts"
import * as Message from "./Message.ts"
import type * as Response from "./Response.ts"
import * as Tool from "./Tool.ts"
import * as Usage from "./Usage.ts"

/** What `onEvent` receives: the model's stream events, and each tool result as it is produced. */
export type Event = Response.StreamEvent | Message.ToolResult

/** Options of {@link run}. */
export interface Options<Tools extends ReadonlyArray<Tool.Any>, A, E, R>
  extends Omit<LanguageModel.Request, "tools" | "output"> {
  readonly tools?: Tools | undefined
  /** The most model calls. Default 10. */
  readonly maxSteps?: number | undefined
  /** How many tool calls of one step run at once. Default `"unbounded"`; 1 runs them in order. */
  readonly concurrency?: number | "unbounded" | undefined
  /** Decode the final answer with this schema (a struct). */
  readonly output?: Schema.Codec<A, unknown> | undefined
  /** The output format's name; default `"output"`. */
  readonly outputName?: string | undefined
  /** How many undecodable final answers are sent back to the model for another try. Default 1. */
  readonly maxOutputRetries?: number | undefined
  /** Stream the model and hand every event to this function. */
  readonly onEvent?: ((event: Event) => Effect.Effect<void, E, R>) | undefined
}

/** The outcome of a loop. */
export interface Result<A> {
  /** The decoded output, or the final text when there is no `output` schema. */
  readonly value: A
  /** The final answer's text. */
  readonly text: string
  /** The prompt (with the system message) and everything after it. */
  readonly transcript: ReadonlyArray<Message.Message>
  /** What the loop added after the prompt. */
  readonly added: ReadonlyArray<Message.Message>
  /** Every model response, one per step. */
  readonly responses: ReadonlyArray<Response.Response>
  /** Usage summed over the steps. */
  readonly usage: Usage.Usage
  /** Cost summed over the steps (USD; steps without a price count 0). */
  readonly cost: number
}

/** Runs the model in context with tools until it answers. */
export const run = <const Tools extends ReadonlyArray<Tool.Any> = [], A = string, E = never, R = never>(
  options: Options<Tools, A, E, R>
): Effect.Effect<
  Result<A>,
  LlmError | MaxStepsExceeded | Tool.Error<Tools[number]> | E,
  Model | Tool.Services<Tools[number]> | R
> =>
  Effect.gen(function* () {
    const model = yield* Model
    const {
      tools: given,
      maxSteps = 10,
      concurrency = "unbounded",
      output,
      outputName = "output",
      maxOutputRetries,
      onEvent,
      system,
      prompt,
      ...rest
    } = options
    const tools: ReadonlyArray<Tool.Any> = given ?? []
    const byName = new Map(tools.map((tool) => [tool.name, tool]))
    const transcript: Array<Message.Message> = [
      ...(system === undefined ? [] : [Message.system(system)]),
      ...Message.fromPrompt(prompt)
    ]
    const start = transcript.length
    const codec = output && (strict(output).codec as Schema.ConstraintCodec<A, unknown>)
    const responses: Array<Response.Response> = []
    let outputRetries = maxOutputRetries ?? 1
    const request = {
      ...rest,
      tools,
      ...(output === undefined ? {} : { output: { name: outputName, schema: output } })
    }

    const step = (messages: ReadonlyArray<Message.Message>) =>
      onEvent
        ? Effect.gen(function* () {
            let completed: Response.Response | undefined
            yield* Stream.runForEach(model.stream({ ...request, prompt: messages }), (event) => {
              if (event._tag === "Completed") completed = event.response
              return onEvent(event)
            })
            return completed!
          })
        : model.generate({ ...request, prompt: messages })

    for (let steps = 0; steps < maxSteps; steps++) {
      const response = yield* step([...transcript])
      responses.push(response)
      transcript.push(...response.messages)
      if (response.toolCalls.length > 0) {
        const results = yield* Effect.forEach(
          response.toolCalls,
          (call) => {
            const tool = byName.get(call.name)
            const result = tool ? tool.call(call) : Effect.succeed(Tool.unknownTool(call, tools))
            return onEvent ? Effect.tap(result, onEvent) : result
          },
          { concurrency }
        ) as Effect.Effect<
          ReadonlyArray<Message.ToolResult>,
          Tool.Error<Tools[number]> | E,
          Tool.Services<Tools[number]> | R
        >
        transcript.push(...results)
        continue
      }
      let value = response.text as A
      if (codec) {
        const decoded = yield* decodeJson(codec, response.text, "Your answer").pipe(
          Effect.map((value) => ({ value })),
          Effect.catchTag("InvalidOutput", (invalid) =>
            outputRetries-- > 0 ? Effect.succeed(invalid) : Effect.fail(invalid)
          )
        )
        if (!("value" in decoded)) {
          transcript.push(Message.user(`${decoded.message}\nAnswer again.`))
          continue
        }
        value = decoded.value
      }
      return {
        value,
        text: response.text,
        transcript,
        added: transcript.slice(start),
        responses,
        usage: responses.reduce((sum, r) => Usage.add(sum, r.usage), Usage.empty),
        cost: responses.reduce((sum, r) => sum + (r.cost ?? 0), 0)
      } satisfies Result<A>
    }
    return yield* new MaxStepsExceeded({
      message: `no final answer after ${maxSteps} model calls`,
      maxSteps
    })
  }).pipe(Effect.withSpan("ToolLoop.run"))
