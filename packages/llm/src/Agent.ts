/**
 * Agents: actors that think with a language model. `Agent.make` gives a `Behavior` that keeps its
 * conversation as its state and answers each `Ask` by running the model with its tools
 * ({@link ToolLoop.run}), in bounded steps. Spawn it like any actor; what it needs (the `LanguageModel`, the
 * tools' services, a `Budget` if you want one) is provided where it is spawned.
 *
 * - **Asks.** `Ask({ prompt })` answers with the final text, or with a value of `output` when the agent
 *   has an output schema. The prompt and everything the loop added (tool calls, results, the answer) are
 *   appended to the conversation. LLM calls take seconds: give the ask a timeout to match
 *   (`{ timeout: "2 minutes" }`; the system's default is 5 s). A timed-out ask interrupts the model call.
 * - **Streaming.** An ask may name a `subscriber`, an actor speaking {@link Events}: it is told every text
 *   delta, tool call and tool result as they happen, in order, before the reply.
 * - **Failures.** Failures that belong to the question are typed replies ({@link AskFailure}:
 *   `BudgetExceeded`, `MaxStepsExceeded`, `InvalidOutput`, `Refused`, `Truncated`, `ContentFiltered`); the
 *   agent keeps running and its conversation is unchanged. Everything else crashes the agent and goes to its
 *   supervisor: model errors that survived the retries (`RateLimited`, `TimedOut`, `ServerError`,
 *   `ConnectionFailed`), errors of configuration or of the conversation itself (`AuthenticationFailed`,
 *   `PermissionDenied`, `NotFound`, `BadRequest`), tool failures and defects. The asker gets
 *   `RequestFailed`; a restart starts a fresh conversation, and the supervisor's backoff and restart budget
 *   apply to an unavailable model.
 * - **Budget.** Provide a `Budget` when spawning the agent: it lives in the spawn's context, so it is
 *   shared by every call of this agent and survives restarts.
 * - **Conversation.** `Reset()` clears it, `Transcript()` returns it. With `maxMessages`, the oldest whole
 *   turns are dropped after an answer that makes it longer (or `compact` rewrites it, e.g. into a summary).
 *
 * @example
 * ```ts
 * const assistant = Agent.make({ name: "assistant", system: "You answer about the weather.", tools: [weather] })
 * const program = Effect.gen(function* () {
 *   const ref = yield* ActorSystem.spawn(assistant, { name: "assistant" })
 *   const answer = yield* ref.ask(Agent.Protocol.Ask({ prompt: "Coat in Oslo?" }), { timeout: "1 minute" })
 * })
 * program.pipe(Effect.provide(ActorSystem.layer()), Effect.provide(OpenAi.layerConfig()))
 * ```
 */
import { type ActorRef, ActorRef as ActorRefs, Behavior, Protocol as Protocols } from "@troupe/runtime"
import { type Duration, Effect, Schema } from "effect"
import * as AgentEvent from "./AgentEvent.ts"
import type { LanguageModel } from "./LanguageModel.ts"
import { BudgetExceeded, ContentFiltered, InvalidOutput, MaxStepsExceeded, Refused, Truncated } from "./LlmError.ts"
import * as Message from "./Message.ts"
import * as Response from "./Response.ts"
import * as Telemetry from "./Telemetry.ts"
import * as Tool from "./Tool.ts"
import * as ToolLoop from "./ToolLoop.ts"

/** What a subscriber is told while the agent works: a text delta, a tool call, a tool result. */
export const Event = Schema.Union([Response.TextDelta, Message.ToolCall, Message.ToolResult])
export type Event = typeof Event.Type

/**
 * The protocol of a subscriber: one message per {@link Event}.
 *
 * @example
 * ```ts
 * const printer = Behavior.make(Agent.Events, {
 *   initial: null,
 *   receive: { Event: (s, { event }) => event._tag === "TextDelta" ? Effect.as(Console.log(event.delta), s) : Effect.succeed(s) }
 * })
 * ```
 */
export const Events = Protocols.make("AgentEvents", { Event: { event: Event } })
export type Events = typeof Events

/** The failures an ask answers with (the agent keeps running): they belong to the question, not the agent. */
export const AskFailure = Schema.Union([
  BudgetExceeded,
  MaxStepsExceeded,
  InvalidOutput,
  Refused,
  Truncated,
  ContentFiltered
])
export type AskFailure = typeof AskFailure.Type

const definition = <A>(output: Schema.Codec<A, unknown>) => ({
  /** Ask the agent; the reply is its answer. `subscriber` is told every event while it works. */
  Ask: Protocols.request(
    { prompt: Schema.String, subscriber: Schema.optionalKey(ActorRefs.schema(Events)) },
    { success: output, failure: AskFailure }
  ),
  /** Clear the conversation. */
  Reset: {},
  /** The conversation so far. */
  Transcript: Protocols.request({}, { success: Schema.Array(Message.Message) })
})

/**
 * The protocol of an agent whose answers are `A`: `Ask({ prompt, subscriber? })` → `A` or
 * {@link AskFailure}; `Reset()`; `Transcript()` → the conversation.
 */
export type Protocol<A = string> = Protocols.Protocol<ReturnType<typeof definition<A>>>

/** The protocol of agents that answer with text (agents without an `output` schema). */
export const Protocol: Protocol = Protocols.make("Agent", definition(Schema.String))

/** Options of {@link make}: those of a tool loop (model, tools, steps, …), and the agent's own. */
export interface Options<Tools extends ReadonlyArray<Tool.Any>, A, RC>
  extends Omit<ToolLoop.Options<Tools, A, never, never>, "prompt" | "onEvent"> {
  /** The agent's name, for spans and metrics (see `Telemetry.withAgent`) and its protocol's name. */
  readonly name: string
  /** Answer with values of this schema (strict structured output) instead of text. */
  readonly output?: Schema.Codec<A, unknown> | undefined
  /** Keep the conversation at most this long (messages, system prompt excluded); default: no limit. */
  readonly maxMessages?: number | undefined
  /**
   * How to shorten a conversation longer than `maxMessages`; default: drop the oldest whole turns (a turn
   * starts at a user message, so tool calls stay with their results).
   */
  readonly compact?:
    | ((transcript: ReadonlyArray<Message.Message>) => Effect.Effect<ReadonlyArray<Message.Message>, unknown, RC>)
    | undefined
}

/**
 * Makes an agent: a behaviour whose state is its conversation. Its protocol is {@link Protocol} (or, with
 * an `output` schema, one of the same shape whose answers are `A`, as `behavior.protocol`).
 */
export const make = <const Tools extends ReadonlyArray<Tool.Any> = [], A = string, RC = never>(
  options: Options<Tools, A, RC>
): Behavior.Behavior<
  Protocol<A>,
  ReadonlyArray<Message.Message>,
  LanguageModel | Tool.Services<Tools[number]> | RC
> => {
  const { name, maxMessages, compact, ...loop } = options
  const protocol = (
    options.output === undefined ? Protocol : Protocols.make(`Agent(${name})`, definition(options.output))
  ) as Protocol<A>
  const shorten = (transcript: ReadonlyArray<Message.Message>) =>
    maxMessages === undefined || transcript.length <= maxMessages
      ? Effect.succeed(transcript)
      : compact
        ? compact(transcript)
        : Effect.succeed(dropOldestTurns(transcript, maxMessages))
  type R = LanguageModel | Tool.Services<Tools[number]> | RC
  return Behavior.make<Protocol<A>, ReadonlyArray<Message.Message>, R>(protocol, {
    initial: [] as ReadonlyArray<Message.Message>,
    receive: {
      Ask: (transcript, { prompt, subscriber }, ctx) =>
        ToolLoop.run({
          ...loop,
          prompt: [...transcript, Message.user(prompt)],
          onEvent: subscriber && tell(subscriber)
        }).pipe(
          Effect.tap((result) =>
            AgentEvent.publish(
              new AgentEvent.TurnDone({
                agent: name,
                prompt: AgentEvent.clip(prompt),
                answer: AgentEvent.clip(result.text),
                steps: result.responses.length,
                usage: result.usage,
                cost: result.cost
              })
            )
          ),
          Effect.flatMap((result) =>
            Effect.map(shorten([...transcript, Message.user(prompt), ...result.added]), (state) => ({
              state,
              reply: result.value
            }))
          ),
          Telemetry.withAgent(name),
          Effect.provideService(Telemetry.AgentId, ctx.self.path),
          Effect.provideService(Telemetry.Conversation, ctx.self.path)
        ),
      Reset: () => Effect.succeed([]),
      Transcript: (transcript) => Effect.succeed({ state: transcript, reply: transcript })
    }
  })
}

/** Tells a subscriber the events it cares about. A full mailbox drops the event, with a warning in the log. */
const tell =
  (subscriber: ActorRef.ActorRef<Events>) =>
  (event: ToolLoop.Event): Effect.Effect<void> => {
    const forwarded: Event | undefined =
      event._tag === "TextDelta" || event._tag === "ToolResult"
        ? event
        : event._tag === "ToolCallDone"
          ? event.call
          : undefined
    return forwarded === undefined
      ? Effect.void
      : subscriber
          .tell(Events.Event({ event: forwarded }))
          .pipe(Effect.catch((refused) => Effect.logWarning(`agent event dropped: ${refused.message}`)))
  }

/** Drops the oldest whole turns until at most `max` messages are left (the last turn is always kept). */
export const dropOldestTurns = (
  transcript: ReadonlyArray<Message.Message>,
  max: number
): ReadonlyArray<Message.Message> => {
  if (transcript.length <= max) return transcript
  let start = transcript.length - max
  while (start < transcript.length && transcript[start]!._tag !== "User") start++
  if (start === transcript.length) start = transcript.findLastIndex((m) => m._tag === "User")
  return transcript.slice(Math.max(start, 0))
}

/** Options of {@link asTool}. */
export interface AsToolOptions<A> {
  /** What the agent is good for, for the model (or the MCP client) deciding whether to ask it. */
  readonly description: string
  readonly agent: ActorRef.ActorRef<Protocol<A>>
  /** The ask's deadline. Default 2 minutes. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * An agent as a tool: its parameter is `{ prompt }`, its result the agent's answer. Give it to another
 * agent (a sub-agent), or serve it to MCP clients (`McpServer.serveHttp`). The agent's typed failures
 * ({@link AskFailure}) and a failed ask (a timeout, the agent crashed) are error results the caller reads;
 * interrupting the call interrupts the agent's work.
 *
 * @example
 * ```ts
 * const researcher = yield* ActorSystem.spawn(Agent.make({ name: "researcher", tools: [search] }))
 * const writer = Agent.make({
 *   name: "writer",
 *   tools: [Agent.asTool("research", { agent: researcher, description: "Finds facts on a topic" })]
 * })
 * ```
 */
export const asTool = <const Name extends string, A>(name: Name, options: AsToolOptions<A>) =>
  Tool.fromAsk(name, {
    description: options.description,
    parameters: Schema.Struct({ prompt: Schema.String }),
    actor: options.agent,
    request: ({ prompt }) => options.agent.protocol.Ask({ prompt }),
    timeout: options.timeout ?? "2 minutes",
    failureMode: "return"
  })
