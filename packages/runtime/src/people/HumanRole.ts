/**
 * A person playing a role in a choreography session. `HumanRole.play(options)` is a role program: give it
 * to `Session.role` and the role's moves are a person's.
 *
 * - **Receive steps** wait for the message, which the person sees with the next question.
 * - **Send steps** ask the person on the node's {@link Desk} (question kind `"move"`), offering exactly the
 *   moves the role's local type allows in this state: each with its recipient, label and the JSON Schema of
 *   its payload, from which the inspector and `troupe session play` make a form. An answer
 *   `{ label, payload }` (the payload as JSON) is refused, and the question stays open, when the label is
 *   not a legal move now or the payload does not decode with the label's Schema; otherwise it is sent, and
 *   the role's monitor checks it like any other move.
 * - **Deadlines.** A person who takes too long is treated like any slow role: the peers waiting for the
 *   person's message time out by their step deadline, the session is aborted, and the question withdrawn.
 * - **Crashes.** In a durable session or a restartable role, each answer is one of the role's `once` results
 *   (committed before the move is sent): the program replayed after a crash gets the answers back, and the
 *   person is asked only the moves not made yet.
 *
 * The detail of a move question (plain JSON):
 * `{ who, instructions, state, received: [{ from, label, payload }], moves: [{ to, label, move, schema }] }`.
 *
 * @example
 * ```ts
 * const buyerB = Session.role(TwoBuyer, "B", HumanRole.play({ who: "Bea", instructions: "Accept a split up to 20." }))
 * const B = yield* ActorSystem.spawn(buyerB, { name: "bea" })
 * // Bea answers in the inspector, or: troupe session play <session> B --inspector http://127.0.0.1:4000
 * ```
 */
import { type Endpoint, Monitor, StateMachine } from "@troupe/choreography"
import { Effect, Schema, SchemaIssue } from "effect"
import * as Desk from "./Desk.ts"

/** Options of {@link play}. */
export interface Options {
  /** Who plays the role, as the questions show it. Default `"a person"`. */
  readonly who?: string | undefined
  /** What the person should know, shown with every question. */
  readonly instructions?: string | undefined
}

/** A message the person received, or a move the person made, as JSON. */
export interface Move {
  readonly from: string
  readonly to: string
  readonly label: string
  /** The payload encoded as JSON (`null` for `Schema.Void`). */
  readonly payload: unknown
}

/** What a role played by a person leaves: the messages received and the moves made, in order. */
export interface Result {
  readonly received: ReadonlyArray<Move>
  readonly sent: ReadonlyArray<Move & { readonly by: string }>
}

/** A legal move, as a question offers it. */
export interface Offer {
  readonly to: string
  readonly label: string
  /** The move as local types write it, e.g. `A!accept()`. */
  readonly move: string
  /** The JSON Schema of the payload (draft 2020-12); `{ "type": "null" }` for a move without payload. */
  readonly schema: unknown
}

/** What `play` uses of a role program's context: its `once`, which records the person's answers. */
export interface OnceContext {
  once<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
}

/** Any endpoint of a role: typed (`Endpoint.For<P, Role, E>`) or untyped. */
export interface AnyEndpoint {
  readonly _tag: "Send" | "Receive" | "End"
  readonly monitor: Monitor.Monitor
  readonly state: number
}

/** What the moves of an endpoint may fail with. */
export type EndpointFailure<Ep> = Ep extends { close(): Effect.Effect<void, infer F> } ? F : never

const jsonCodec = (schema: Schema.Top) => Schema.toCodecJson(schema as Schema.Codec<unknown, unknown>)

const encodeJson = (schema: Schema.Top, value: unknown): Effect.Effect<unknown> =>
  Effect.orDie(Schema.encodeUnknownEffect(jsonCodec(schema))(value)).pipe(Effect.map((json) => json ?? null))

const offersCache = new WeakMap<StateMachine.State, ReadonlyArray<Offer>>()

/** The moves a send state offers, with their payloads' JSON Schemas. */
export const offers = (state: StateMachine.State): ReadonlyArray<Offer> => {
  let found = offersCache.get(state)
  if (found === undefined) {
    found = state.transitions.map((t) => ({
      to: t.peer,
      label: t.label,
      move: StateMachine.describeTransition(t),
      schema: Schema.toJsonSchemaDocument(t.payload as Schema.Codec<unknown, unknown>).schema
    }))
    offersCache.set(state, found)
  }
  return found
}

const Answer = Schema.Struct({ label: Schema.String, payload: Schema.optionalKey(Schema.Unknown) })

/** Checks a person's answer in `state`: the move to send, or what is wrong with it. */
const checkAnswer = (monitor: Monitor.Monitor, state: StateMachine.State, raw: unknown) =>
  Effect.gen(function* () {
    const answer = yield* Schema.decodeUnknownEffect(Answer)(raw).pipe(
      Effect.mapError(() => `an answer is { "label": <one of the moves>, "payload": <its payload as JSON> }`)
    )
    const legal = state.transitions.map((t) => t.label).join(", ")
    const transition = state.transitions.find((t) => t.label === answer.label)
    if (transition === undefined) return yield* Effect.fail(`"${answer.label}" is not a legal move now: ${legal}`)
    const payload = yield* Schema.decodeUnknownEffect(jsonCodec(transition.payload))(answer.payload ?? null, {
      errors: "all"
    }).pipe(
      Effect.mapError(
        (error) =>
          `the payload of "${answer.label}" does not match ${StateMachine.describeTransition(transition)}: ${SchemaIssue.makeFormatterDefault()(error.issue)}`
      )
    )
    const next = Monitor.send(monitor, state.id, transition.peer, transition.label, payload)
    if (Monitor.isViolation(next)) return yield* Effect.fail(next.message)
    return { to: transition.peer, label: transition.label, payload }
  })

/** The role program of a person: drives the endpoint to the end of the role's local type (see the module). */
export const play =
  (options: Options = {}) =>
  <Ep extends AnyEndpoint>(endpoint: Ep, context?: OnceContext): Effect.Effect<Result, EndpointFailure<Ep>> =>
    Effect.gen(function* () {
      let ep = endpoint as unknown as Endpoint.UntypedEndpoint<unknown>
      const { monitor } = ep
      const received: Array<Move> = []
      const sent: Array<Move & { readonly by: string }> = []
      while (ep._tag !== "End") {
        const state = monitor.machine.states[ep.state]!
        if (ep._tag === "Receive") {
          const message = yield* ep.receive()
          const { payload } = state.transitions.find((t) => t.label === message.label)!
          received.push({
            from: message.from,
            to: monitor.role,
            label: message.label,
            payload: yield* encodeJson(payload, message.payload)
          })
          ep = message.next
          continue
        }
        // the answer as the person gave it (JSON), checked: in a durable session or a restartable role it is part
        // of the role's log (a `once`), so that the program replayed after a crash does not ask again
        const ask = Desk.ask({
          kind: "move",
          title: `${monitor.role}'s move in session ${monitor.session} of ${monitor.protocol}`,
          key: `${monitor.session}/${monitor.role}/move/${sent.length}`,
          detail: {
            who: options.who ?? "a person",
            instructions: options.instructions ?? null,
            state: state.id,
            received,
            moves: offers(state)
          },
          check: (answer) => Effect.as(checkAnswer(monitor, state, answer), answer)
        })
        const answered = yield* context === undefined ? ask : context.once(ask)
        const move = yield* checkAnswer(monitor, state, answered.value).pipe(
          Effect.catch((reason) =>
            Effect.die(
              new Error(
                `${monitor.role}'s recorded move #${sent.length} in session ${monitor.session} no longer fits: ${reason}`
              )
            )
          )
        )
        ep = yield* ep.send(move.to, move.label, move.payload)
        const payload = yield* encodeJson(state.transitions.find((t) => t.label === move.label)!.payload, move.payload)
        sent.push({ from: monitor.role, to: move.to, label: move.label, payload, by: answered.by })
      }
      yield* ep.close()
      return { received, sent } satisfies Result
    }) as Effect.Effect<Result, EndpointFailure<Ep>>
