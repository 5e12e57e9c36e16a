/**
 * A language model playing a role in a choreography session. `LlmRole.play(options)` is a role program:
 * give it the role's endpoint (typed, as `Endpoint.make` gives it, or untyped) and it drives the role to
 * the end of its local type.
 *
 * - **Receive steps** wait for the message and add it to the conversation (`Seller sent you "quote": 30`).
 * - **Send steps** ask the model for its move, as strict structured output whose schema is the union of the
 *   legal next messages: `{ "move": { "to", "label", "payload" } }`, one member per label allowed in this
 *   state, each with that label's payload schema (the model's choice of branch is its choice of label).
 *   The model may call its tools first. The move is checked before anything is sent: a move that is not
 *   JSON, names another recipient or a label not allowed here, or whose payload does not decode, is sent
 *   back to the model with what was wrong, up to `maxCorrections` times; then the step fails with
 *   {@link InvalidMove}, which the role's supervisor (or the session) sees. A rejected move never reaches
 *   the session: the endpoint is not spent and no `ProtocolViolation` is reported.
 * - **The end** closes the endpoint; the result is the conversation, with usage and cost.
 *
 * Payload schemas must be expressible in OpenAI's strict JSON Schema (structs, primitives, literals,
 * arrays, unions, optional fields); `Schema.Void` payloads are written `null`.
 *
 * @example
 * ```ts
 * const buyer = LlmRole.play({ system: "You buy cheaply.", prompt: "Buy a lamp for at most 40." })
 * const result = yield* buyer(Endpoint.make(Haggle, "Buyer", { session: "s-1", port }))
 * ```
 */
import { type Endpoint, Monitor, Session, StateMachine } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import * as AgentEvent from "./AgentEvent.ts"
import * as loop from "./internal/loop.ts"
import { decodeJson, describeIssues, issuesOf, strict } from "./internal/structured.ts"
import type { LanguageModel, OutputSchema } from "./LanguageModel.ts"
import { InvalidOutput, Issue, type LlmError, type MaxStepsExceeded } from "./LlmError.ts"
import * as Message from "./Message.ts"
import * as Telemetry from "./Telemetry.ts"
import type * as Tool from "./Tool.ts"
import type * as ToolLoop from "./ToolLoop.ts"
import * as Usage from "./Usage.ts"

/** The model produced no legal move in `attempts` tries; `raw` and `issues` are about the last one. */
export class InvalidMove extends Schema.TaggedError<InvalidMove>()("InvalidMove", {
  protocol: Schema.String,
  session: Schema.String,
  role: Schema.String,
  /** The state of the role's state machine. */
  state: Schema.Number,
  /** The moves allowed there, e.g. `["Seller!accept({ price: number })", "Seller!reject()"]`. */
  expected: Schema.Array(Schema.String),
  attempts: Schema.Number,
  /** The model's last output. */
  raw: Schema.String,
  issues: Schema.Array(Issue)
}) {
  override get message(): string {
    return (
      `Role ${this.role} in session ${this.session} of ${this.protocol} (state ${this.state}) made no legal move ` +
      `in ${this.attempts} attempts; expected ${this.expected.join(" or ")}. The last output was ${this.raw}:\n` +
      describeIssues(this.issues)
    )
  }
}

/** Options of {@link play}: those of a tool loop (model, tools, steps per move, …), and the role's own. */
export interface Options<Tools extends ReadonlyArray<Tool.Any>>
  extends Omit<ToolLoop.Options<Tools, never, never, never>, "prompt" | "output" | "outputName" | "maxOutputRetries"> {
  /** The task, as the conversation's first user message (or a whole transcript to start from). */
  readonly prompt?: string | ReadonlyArray<Message.Message> | undefined
  /** How many rejected moves are sent back to the model, per move, before {@link InvalidMove}. Default 2. */
  readonly maxCorrections?: number | undefined
  /** Called for each rejected move, with the state and what was wrong (e.g. to count or log them). */
  readonly onRejected?: ((state: number, rejection: InvalidOutput) => Effect.Effect<void>) | undefined
  /**
   * Advice shown to the model with each request for a move (after `Your move …`, as `Advice: …`): e.g. a
   * solved policy's recommendation (`@troupe/agreement`'s `Strategy.advise`). Called at each send state.
   */
  readonly advice?: ((state: number) => Effect.Effect<string | undefined>) | undefined
}

/** What a role played to its end leaves: the conversation, and the usage and cost of its model calls. */
export interface Result {
  readonly transcript: ReadonlyArray<Message.Message>
  readonly usage: Usage.Usage
  readonly cost: number
  /** How many moves were rejected and corrected. */
  readonly corrections: number
}

/** Any endpoint of a role: typed (`Endpoint.For<P, Role, E>`) or untyped. */
export interface AnyEndpoint {
  readonly _tag: "Send" | "Receive" | "End"
  readonly monitor: Monitor.Monitor
  readonly state: number
}

/** What the moves of an endpoint may fail with (`Endpoint.Failure<E>`). */
export type EndpointFailure<Ep> = Ep extends { close(): Effect.Effect<void, infer F> }
  ? F
  : Ep extends { receive(): Effect.Effect<infer _A, infer F> }
    ? F
    : Ep extends { send(...args: never): Effect.Effect<infer _A, infer F> }
      ? F
      : never

/** What {@link play} may fail with. */
export type Failure<Tools extends ReadonlyArray<Tool.Any>, Ep> =
  | InvalidMove
  | LlmError
  | MaxStepsExceeded
  | Tool.Error<Tools[number]>
  | EndpointFailure<Ep>

/** A move the model chose, checked against the protocol. */
interface Move {
  readonly to: string
  readonly label: string
  readonly payload: unknown
}

/** The structured output of a send state, and how each label's payload decodes. */
interface Format {
  readonly output: OutputSchema
  readonly payloads: ReadonlyMap<string, Schema.ConstraintCodec<{ readonly payload: unknown }, unknown>>
}

const formats = new WeakMap<StateMachine.State, Format>()

const formatOf = (state: StateMachine.State): Format => {
  let format = formats.get(state)
  if (format === undefined) {
    const members = state.transitions.map((t) =>
      Schema.Struct({ to: Schema.Literal(t.peer), label: Schema.Literal(t.label), payload: t.payload })
    )
    format = {
      output: {
        name: "move",
        description: "Your next message in the protocol",
        schema: Schema.Struct({ move: Schema.Union(members) }) as unknown as Schema.Codec<unknown, unknown>
      },
      payloads: new Map(
        state.transitions.map((t) => [
          t.label,
          strict(Schema.Struct({ payload: t.payload }) as unknown as Schema.Codec<unknown, unknown>)
            .codec as Schema.ConstraintCodec<{ readonly payload: unknown }, unknown>
        ])
      )
    }
    formats.set(state, format)
  }
  return format
}

const Loose = Schema.Struct({
  move: Schema.Struct({ to: Schema.String, label: Schema.String, payload: Schema.optionalKey(Schema.Unknown) })
})

/** Decodes the model's move in `state` and checks it against the protocol; any problem is an `InvalidOutput`. */
const decodeMove = (monitor: Monitor.Monitor, state: StateMachine.State, raw: string) =>
  Effect.gen(function* () {
    const { move } = yield* decodeJson(Loose, raw, "Your move")
    const allowed = Monitor.expected(monitor, state.id)
    const outOfProtocol = (issues: ReadonlyArray<Issue>) =>
      new InvalidOutput({
        message: `Your move is out of protocol: now you may send ${allowed.join(" or ")}.\n${describeIssues(issues)}`,
        raw,
        issues
      })
    const issues: Array<Issue> = []
    if (move.to !== state.peer) {
      issues.push({ path: "move.to", message: `you can only send to ${state.peer} now, not to ${move.to}` })
    }
    const codec = formatOf(state).payloads.get(move.label)
    if (codec === undefined) {
      const labels = state.transitions.map((t) => `"${t.label}"`).join(", ")
      issues.push({
        path: "move.label",
        message: `"${move.label}" is not allowed now; the labels allowed are ${labels}`
      })
    }
    if (codec === undefined || issues.length > 0) return yield* outOfProtocol(issues)
    const { payload } = yield* Schema.decodeUnknownEffect(codec, { errors: "all" })({
      payload: move.payload ?? null
    }).pipe(
      Effect.mapError((e) =>
        outOfProtocol(issuesOf(e).map((issue) => ({ path: `move.${issue.path}`, message: issue.message })))
      )
    )
    // The model's move as the session's monitor sees it: the same check the endpoint makes before sending.
    const checked = Monitor.send(monitor, state.id, move.to, move.label, payload)
    if (Monitor.isViolation(checked)) return yield* outOfProtocol([{ path: "move", message: checked.message }])
    return { to: move.to, label: move.label, payload } satisfies Move
  })

/** What the model is told about its role, after the user's own instructions. */
const instructions = (monitor: Monitor.Monitor): string =>
  [
    `You play the role ${monitor.role} in a session of the protocol ${monitor.protocol}.`,
    "Messages you receive are shown to you as they arrive. When it is your move, answer with JSON",
    '{"move": {"to": <role>, "label": <message label>, "payload": <payload>}} for one of the moves allowed',
    'then. Moves are written recipient!label(payload type); write a payload "()" as null.',
    "Your part of the protocol, as a state machine (! send, ? receive):",
    StateMachine.print(monitor.machine)
  ].join("\n")

/** A received message (which the endpoint's monitor let in), as the model reads it. */
const describeReceived = (state: StateMachine.State, received: Endpoint.Incoming) =>
  Effect.gen(function* () {
    const { payload } = state.transitions.find((t) => t.label === received.label)!
    const encoded = yield* Effect.orDie(
      Schema.encodeUnknownEffect(payload as Schema.Codec<unknown, unknown>)(received.payload)
    )
    return Message.user(
      `${received.from} sent you "${received.label}"${encoded === undefined ? "" : `: ${JSON.stringify(encoded)}`}`
    )
  })

/**
 * The role program of a language model: drives the endpoint to the end of the role's local type (see the
 * module's description). Its requirements are the model's and the tools'.
 */
export const play =
  <const Tools extends ReadonlyArray<Tool.Any> = []>(options: Options<Tools>) =>
  <Ep extends AnyEndpoint>(
    endpoint: Ep
  ): Effect.Effect<Result, Failure<Tools, Ep>, LanguageModel | Tool.Services<Tools[number]>> =>
    Effect.gen(function* () {
      const { prompt, maxCorrections = 2, onRejected, advice, system, ...rest } = options
      // Every endpoint is untyped underneath; the typed interfaces only restrict what compiles.
      let ep = endpoint as unknown as Endpoint.UntypedEndpoint<unknown>
      const { monitor } = ep
      const loopOptions = {
        ...rest,
        system: [system, instructions(monitor)].filter((s) => s !== undefined).join("\n\n"),
        maxOutputRetries: maxCorrections
      }
      const transcript: Array<Message.Message> = [...Message.fromPrompt(prompt ?? [])]
      let usage = Usage.empty
      let cost = 0
      let corrections = 0
      while (ep._tag !== "End") {
        const state = monitor.machine.states[ep.state]!
        if (ep._tag === "Receive") {
          const received = yield* ep.receive()
          transcript.push(yield* describeReceived(state, received))
          ep = received.next
          continue
        }
        const allowed = Monitor.expected(monitor, state.id)
        const advised = advice === undefined ? undefined : yield* advice(state.id)
        transcript.push(
          Message.user(
            `Your move (state ${state.id}): ${allowed.join(" or ")}.${advised === undefined ? "" : `\nAdvice: ${advised}`}`
          )
        )
        const result = yield* loop
          .run(
            { ...loopOptions, prompt: transcript },
            {
              format: formatOf(state).output,
              decode: (text) =>
                decodeMove(monitor, state, text).pipe(
                  Effect.tapError((rejection) =>
                    Effect.andThen(
                      Effect.sync(() => corrections++),
                      Effect.andThen(
                        Session.note(
                          `the model's move was refused before it left (${rejection.issues.map((i) => i.message).join("; ")}); sent back to the model`
                        ),
                        onRejected ? onRejected(state.id, rejection) : Effect.void
                      )
                    )
                  )
                )
            }
          )
          .pipe(
            Effect.catchIf(
              (e): e is InvalidOutput => e instanceof InvalidOutput,
              (last) =>
                Effect.fail(
                  new InvalidMove({
                    protocol: monitor.protocol,
                    session: monitor.session,
                    role: monitor.role,
                    state: state.id,
                    expected: allowed,
                    attempts: maxCorrections + 1,
                    raw: last.raw,
                    issues: last.issues
                  })
                )
            )
          )
        transcript.push(...result.added)
        usage = Usage.add(usage, result.usage)
        cost += result.cost
        const move: Move = result.value
        yield* AgentEvent.publish(
          new AgentEvent.TurnDone({
            agent: yield* Telemetry.Agent,
            prompt: `${monitor.role}'s move in state ${state.id}: ${allowed.join(" or ")}`,
            answer: AgentEvent.clip(`${move.to}!${move.label}(${JSON.stringify(move.payload) ?? ""})`),
            steps: result.responses.length,
            usage: result.usage,
            cost: result.cost
          })
        )
        ep = yield* ep.send(move.to, move.label, move.payload)
      }
      yield* ep.close()
      return { transcript, usage, cost, corrections } satisfies Result
    }).pipe(
      // each move is an `invoke_agent {role}` span (unless an agent name is set), in the session's conversation
      (play) =>
        Effect.flatMap(Telemetry.Agent, (agent) => {
          const { monitor } = endpoint as unknown as Endpoint.UntypedEndpoint<unknown>
          return play.pipe(
            Effect.provideService(Telemetry.Agent, agent === "none" ? monitor.role : agent),
            Effect.provideService(Telemetry.AgentId, `${monitor.session}/${monitor.role}`),
            Effect.provideService(Telemetry.Conversation, monitor.session),
            Effect.withSpan(`LlmRole.play ${monitor.role}`, {
              attributes: { "gen_ai.conversation.id": monitor.session, "troupe.protocol": monitor.protocol }
            })
          )
        })
    ) as Effect.Effect<Result, Failure<Tools, Ep>, LanguageModel | Tool.Services<Tools[number]>>
