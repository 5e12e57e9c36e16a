/**
 * A deterministic language model for tests, examples and demos: it plays {@link Turn}s and records every
 * request. It is built with {@link LanguageModel.make} like the real one, so it behaves the same: the same
 * events, usage, errors, retries (its delays follow the Clock, so `TestClock` drives them), timeouts,
 * budgets and metrics.
 *
 * @example
 * ```ts
 * const Model = ScriptedModel.layer([Turn.toolCall("add", { a: 1, b: 2 }), Turn.text("3")])
 * const requests = ScriptedModel.requests // what the model was asked, in order
 * ```
 */
import { Context, Duration, Effect, Layer, Stream } from "effect"
import { badDurations } from "./internal/durations.ts"
import { fromStatus } from "./internal/errors.ts"
import * as LanguageModel from "./LanguageModel.ts"
import { ConnectionFailed, type LlmError } from "./LlmError.ts"
import * as Turn from "./Turn.ts"

/** A request the scripted model received. */
export interface Recorded extends LanguageModel.ProviderRequest {
  readonly stream: boolean
}

/** The recorder of a scripted model. */
export class ScriptedModel extends Context.Service<
  ScriptedModel,
  {
    /** The requests received so far, in order. */
    readonly requests: Effect.Effect<ReadonlyArray<Recorded>>
  }
>()("@troupe/llm/ScriptedModel") {}

/** The requests the scripted model in context received so far. */
export const requests: Effect.Effect<ReadonlyArray<Recorded>, never, ScriptedModel> = ScriptedModel.use(
  (model) => model.requests
)

/** Options: the reported default model (`"scripted"`) and the usual policy. */
export interface Options extends LanguageModel.Policy {
  readonly model?: string | undefined
  /**
   * Whether to keep every request for `requests` (default true). A long-running program (a backend under
   * load, say) turns it off, so that its memory does not grow with every call.
   */
  readonly record?: boolean | undefined
}

const dropped = () => new ConnectionFailed({ message: "the connection dropped (scripted)" })

/** The events of a resolved turn: text deltas, then each tool call. */
const eventsOf = (turn: Turn.Resolved): ReadonlyArray<LanguageModel.ProviderEvent> => [
  ...Turn.chunks(turn.text, turn.chunkSize).map((delta) => ({ _tag: "TextDelta" as const, delta })),
  ...turn.toolCalls.flatMap(
    (call): ReadonlyArray<LanguageModel.ProviderEvent> => [
      { _tag: "ToolCallStarted", id: call.id, name: call.name },
      ...Turn.chunks(call.arguments, turn.chunkSize).map((delta) => ({
        _tag: "ToolCallDelta" as const,
        id: call.id,
        delta
      })),
      { _tag: "ToolCallDone", call }
    ]
  )
]

/** The events sent before `limit` deltas are reached (all when no limit). */
const upTo = (events: ReadonlyArray<LanguageModel.ProviderEvent>, limit: number | undefined) => {
  if (limit === undefined) return events
  if (limit === 0) return []
  let deltas = 0
  const out: Array<LanguageModel.ProviderEvent> = []
  for (const event of events) {
    out.push(event)
    if ((event._tag === "TextDelta" || event._tag === "ToolCallDelta") && ++deltas === limit) break
  }
  return out
}

/** Makes a scripted model and its recorder. */
export const make = (
  script: Turn.Script,
  options?: Options
): Effect.Effect<{
  readonly model: LanguageModel.LanguageModel["Service"]
  readonly recorder: ScriptedModel["Service"]
}> =>
  Effect.gen(function* () {
    const recorded: Array<Recorded> = []
    let count = 0

    /** Records the request, waits the turn's delay, and fails with the turn's error if it has one. */
    const receive = (request: LanguageModel.ProviderRequest, stream: boolean) =>
      Effect.gen(function* () {
        const index = count++
        if (options?.record !== false) recorded.push({ ...request, stream })
        const turn = Turn.pick(
          script,
          { model: request.model, messages: request.messages, tools: request.tools.map((t) => t.name), stream },
          index
        )
        if (!turn) return yield* Effect.die(new Error(`ScriptedModel: the script has no turn for request #${index}`))
        const bad =
          badDurations(`turn #${index}: `, turn, ["delay", "interval"]) ??
          badDurations(`turn #${index}: error.`, turn.error, ["retryAfter"])
        if (bad !== undefined) return yield* Effect.die(new TypeError(`ScriptedModel: ${bad}`))
        if (turn.delay !== undefined) yield* Effect.sleep(turn.delay)
        if (turn.error) {
          const { status, message, code, retryAfter } = turn.error
          return yield* Effect.fail(
            fromStatus(status, {
              message: message ?? `scripted error ${status}`,
              code,
              requestId: `req_${index}`,
              retryAfter: retryAfter === undefined ? undefined : Duration.fromInputUnsafe(retryAfter)
            })
          )
        }
        const resolved = Turn.limit(Turn.resolve(turn, index), request.maxOutputTokens)
        const result: LanguageModel.ProviderResult = {
          id: `resp_${index}`,
          model: turn.model ?? request.model,
          messages: [
            ...(resolved.reasoning ? [resolved.reasoning] : []),
            ...(resolved.text ? [{ _tag: "Assistant" as const, text: resolved.text }] : []),
            ...resolved.toolCalls
          ],
          finish: resolved.finish,
          ...(resolved.refusal === undefined ? {} : { refusal: resolved.refusal }),
          usage: turn.omit?.includes("usage") ? undefined : resolved.usage,
          requestId: `req_${index}`
        }
        const streamError =
          turn.streamError &&
          fromStatus(undefined, {
            message: turn.streamError.message ?? `scripted error ${turn.streamError.code ?? "server_error"}`,
            code: turn.streamError.code ?? "server_error",
            requestId: `req_${index}`
          })
        return { turn, resolved, result, streamError }
      })

    const provider: LanguageModel.Provider = {
      name: "scripted",
      generate: (request) =>
        Effect.map(receive(request, false), ({ turn, result, streamError }) =>
          streamError
            ? Effect.fail(streamError)
            : turn.stallAfter !== undefined
              ? Effect.never
              : turn.dropAfter !== undefined
                ? Effect.fail(dropped())
                : Effect.succeed(result)
        ),
      stream: (request) =>
        Effect.map(receive(request, true), ({ turn, resolved, result, streamError }) => {
          const cut = streamError ? (turn.streamError?.after ?? 0) : (turn.stallAfter ?? turn.dropAfter)
          const events =
            cut === undefined
              ? [...eventsOf(resolved), { _tag: "Finished" as const, result }]
              : cut === 0
                ? [{ _tag: "Progress" as const }]
                : upTo(eventsOf(resolved), cut)
          const paced = Stream.fromIterable(events).pipe(
            Stream.mapEffect((event) =>
              turn.interval === undefined ? Effect.succeed(event) : Effect.as(Effect.sleep(turn.interval), event)
            )
          )
          const tail: Stream.Stream<never, LlmError> = streamError
            ? Stream.fail(streamError)
            : turn.stallAfter !== undefined
              ? Stream.never
              : turn.dropAfter !== undefined
                ? Stream.fail(dropped())
                : Stream.empty
          return Stream.concat(paced, tail)
        })
    }

    return {
      model: LanguageModel.make(provider, { ...options, model: options?.model ?? "scripted" }),
      recorder: ScriptedModel.of({ requests: Effect.sync(() => [...recorded]) })
    }
  })

/** A layer with a scripted language model and its recorder. */
export const layer = (
  script: Turn.Script,
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel | ScriptedModel> =>
  Layer.effectContext(
    Effect.map(make(script, options), ({ model, recorder }) =>
      Context.make(LanguageModel.LanguageModel, model).pipe(Context.add(ScriptedModel, recorder))
    )
  )
