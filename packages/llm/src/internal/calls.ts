/**
 * The calls of a language model built from a provider (see `LanguageModel.make`): retries, timeouts by phase,
 * a stream cut when it overruns its output limit, and the call's accounting (budget, usage, cost, spans).
 */
import { Duration, Effect, Schedule, type Schema, Stream } from "effect"
import type {
  LanguageModel,
  ObjectRequest,
  Options,
  Provider,
  ProviderEvent,
  ProviderRequest,
  Request
} from "../LanguageModel.ts"
import { type LlmError, TimedOut, type TimeoutPhase, Truncated } from "../LlmError.ts"
import * as Message from "../Message.ts"
import type * as Response from "../Response.ts"
import * as Usage from "../Usage.ts"
import * as Accounting from "./accounting.ts"
import { badDurations } from "./durations.ts"
import { decodeJson, strict } from "./structured.ts"

/** Exponential backoff from 500 ms with jitter, 3 retries. */
export const defaultRetry: Schedule.Schedule<unknown, LlmError> = Schedule.exponential("500 millis").pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 3 })
)

const defaultTimeouts = {
  connect: Duration.seconds(30),
  firstEvent: Duration.minutes(2),
  idle: Duration.minutes(1),
  attempt: Duration.minutes(10),
  overall: Duration.minutes(15)
}

const encoder = new TextEncoder()

const retryAfterOf = (error: LlmError): Duration.Duration | undefined =>
  error._tag === "RateLimited" ? error.retryAfter : undefined

/** The service's calls over `provider` (`LanguageModel.make` gives them as the service). */
export const calls = (provider: Provider, options: Options): LanguageModel["Service"] => {
  // `OpenAi.make`, `Anthropic.make` check them first (a typed error); a provider of one's own gets a sentence.
  const bad = badDurations("timeouts.", options.timeouts, ["connect", "firstEvent", "idle", "attempt", "overall"])
  if (bad !== undefined) throw new TypeError(`LanguageModel.make: ${bad}`)
  const timeouts = {
    connect: Duration.fromInputUnsafe(options.timeouts?.connect ?? defaultTimeouts.connect),
    "first-event": Duration.fromInputUnsafe(options.timeouts?.firstEvent ?? defaultTimeouts.firstEvent),
    idle: Duration.fromInputUnsafe(options.timeouts?.idle ?? defaultTimeouts.idle),
    attempt: Duration.fromInputUnsafe(options.timeouts?.attempt ?? defaultTimeouts.attempt),
    overall: Duration.fromInputUnsafe(options.timeouts?.overall ?? defaultTimeouts.overall)
  } satisfies Record<TimeoutPhase, Duration.Duration>

  // Waits at least what a rate limit's retry-after asks; one that lies beyond the overall deadline (a daily limit:
  // "retry after 1 hour") cannot be waited for, and the call fails with the rate limit at once rather than sleeping
  // to the deadline and failing with a `TimedOut` that hides it.
  const schedule = Schedule.modifyDelay(options.retry ?? defaultRetry, ({ input, duration }) => {
    const retryAfter = retryAfterOf(input)
    return Effect.succeed(retryAfter ? Duration.max(duration, retryAfter) : duration)
  }).pipe(
    Schedule.while(({ input, elapsed }) => {
      const retryAfter = retryAfterOf(input)
      return retryAfter === undefined || elapsed + Duration.toMillis(retryAfter) < Duration.toMillis(timeouts.overall)
    })
  )

  const timedOut = (phase: TimeoutPhase) =>
    new TimedOut({
      message: `no ${phase === "overall" || phase === "attempt" ? "answer" : phase} within ${Duration.format(timeouts[phase])} (${phase} timeout)`,
      phase,
      after: timeouts[phase]
    })
  const within =
    (phase: TimeoutPhase) =>
    <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | TimedOut, R> =>
      Effect.timeoutOrElse(self, { duration: timeouts[phase], orElse: () => Effect.fail(timedOut(phase)) })
  const failAfter = (phase: TimeoutPhase) => Effect.andThen(Effect.sleep(timeouts[phase]), Effect.fail(timedOut(phase)))

  const resolve = (request: Request): ProviderRequest => {
    const messages = Message.fromPrompt(request.prompt)
    return {
      model: request.model ?? options.model,
      messages: request.system === undefined ? [...messages] : [Message.system(request.system), ...messages],
      tools: request.tools ?? [],
      toolChoice: request.toolChoice,
      maxOutputTokens: request.maxOutputTokens ?? options.maxOutputTokens,
      temperature: request.temperature,
      reasoningEffort: request.reasoningEffort,
      output: request.output && {
        name: request.output.name,
        description: request.output.description,
        jsonSchema: strict(request.output.schema).jsonSchema
      }
    }
  }

  const { begin, extrasOf, reserve, end, charge, settle } = Accounting.make(provider)

  const call = <A>(
    operation: "generate" | "generateObject",
    request: Request,
    then: (response: Response.Response) => Effect.Effect<A, LlmError>
  ): Effect.Effect<A, LlmError> =>
    Effect.suspend(() => {
      const resolved = resolve(request)
      return Effect.scoped(
        Effect.gen(function* () {
          const c = yield* begin(resolved)
          const attempt = (sent: ProviderRequest) =>
            Effect.scoped(Effect.flatten(within("connect")(provider.generate(sent)))).pipe(within("attempt"))
          const exit = yield* Effect.exit(
            reserve(c).pipe(
              Effect.flatMap((sent) =>
                attempt(sent).pipe(
                  Effect.retry({ schedule, while: (e) => e.retryable }),
                  within("overall"),
                  Effect.flatMap((result) => settle(c, sent, result))
                )
              ),
              Effect.flatMap(then)
            )
          )
          yield* end(c, exit)
          return yield* exit
        })
      ).pipe(
        Effect.withSpan(`chat ${resolved.model}`, { kind: "client", attributes: { "troupe.llm.operation": operation } })
      )
    })

  const eventTimeouts = <A, E>(self: Stream.Stream<A, E>): Stream.Stream<A, E | TimedOut> =>
    Stream.transformPull(self, (pull) =>
      Effect.sync(() => {
        let phase: TimeoutPhase = "first-event"
        return Effect.suspend(() => {
          const current = phase
          phase = "idle"
          return within(current)(pull)
        })
      })
    )

  const streamEvents = (request: Request): Stream.Stream<Response.StreamEvent, LlmError> =>
    Stream.suspend(() => {
      const resolved = resolve(request)
      return Stream.unwrap(
        Effect.gen(function* () {
          const c = yield* begin(resolved)
          return Stream.unwrap(Effect.map(reserve(c), (sent) => eventsOf(c, sent))).pipe(
            Stream.onExit((exit) => end(c, exit))
          )
        })
      ).pipe(
        Stream.withSpan(`chat ${resolved.model}`, { kind: "client", attributes: { "troupe.llm.operation": "stream" } })
      )
    })

  /** The events of a call whose budget is reserved. */
  const eventsOf = (c: Accounting.Call, sent: ProviderRequest): Stream.Stream<Response.StreamEvent, LlmError> =>
    Stream.suspend(() => {
      // What the stream produced so far, to cut a server that ignores the limit and to charge a stream that
      // breaks off.
      let emitted = false
      let settled = false
      let outputBytes = 0
      let partialText = ""
      const produced = () => Math.ceil(outputBytes / 4)
      const estimated = (): Usage.Usage => ({
        ...Usage.empty,
        inputTokens: Usage.estimateMessages(sent.messages, extrasOf(sent)),
        outputTokens: produced(),
        estimated: true
      })
      // Progress events count for the idle timeout, then are dropped *before* the retry: an element that
      // passes `Stream.retry` resets its schedule, and a retry happens only before any output, so the
      // schedule counts requests.
      const attempt = Stream.unwrap(within("connect")(provider.stream(sent))).pipe(
        eventTimeouts,
        Stream.interruptWhen(failAfter("attempt")),
        Stream.filter(
          (event): event is Exclude<ProviderEvent, { readonly _tag: "Progress" }> => event._tag !== "Progress"
        )
      )
      const events = attempt.pipe(
        Stream.tap(() =>
          Effect.sync(() => {
            emitted = true
          })
        ),
        Stream.retry(Schedule.while(schedule, ({ input }) => !emitted && input.retryable)),
        Stream.interruptWhen(failAfter("overall")),
        Stream.mapEffect((event): Effect.Effect<Response.StreamEvent, LlmError> => {
          if (event._tag === "Finished") {
            settled = true
            return Effect.map(settle(c, sent, event.result), (response) => ({ _tag: "Completed", response }))
          }
          const delta = event._tag === "TextDelta" || event._tag === "ToolCallDelta" ? event.delta : ""
          outputBytes += encoder.encode(delta).length
          if (event._tag === "TextDelta") partialText += event.delta
          if (sent.maxOutputTokens !== undefined && produced() > Accounting.overrun(sent.maxOutputTokens)) {
            return Effect.fail(
              new Truncated({
                message: `the server ignored the output limit of ${sent.maxOutputTokens} tokens: the stream was cut after about ${produced()}`,
                partialText,
                usage: estimated()
              })
            )
          }
          return Effect.succeed(event)
        }),
        Stream.onExit(() =>
          settled || outputBytes === 0 ? Effect.void : Effect.asVoid(charge(c, sent.model, estimated()))
        )
      )
      return events
    })

  return {
    generate: (request) => call("generate", request, Effect.succeed),
    stream: streamEvents,
    generateObject: <A>(request: ObjectRequest<A>) => {
      const { schema, name, description, ...rest } = request
      return call("generateObject", { ...rest, output: { name: name ?? "output", description, schema } }, (response) =>
        decodeJson(
          strict(schema).codec as Schema.ConstraintCodec<A, unknown>,
          response.text,
          "The model's output"
        ).pipe(Effect.map((value) => ({ value, response })))
      )
    }
  }
}
