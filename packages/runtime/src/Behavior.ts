/**
 * Behaviours: what an actor is. A behaviour has an initial state and a handler per message tag; each handler
 * returns an Effect of the next state (for a request: the next state and the reply). An actor handles one
 * message at a time, so handlers never race on the state.
 *
 * A handler that fails crashes the actor and its supervisor decides what happens next, except that a request
 * handler failing with the request's declared `failure` answers the caller with it and keeps running.
 *
 * @example
 * ```ts
 * const Counter = Protocol.make("Counter", {
 *   Add: { n: Schema.Number },
 *   Get: Protocol.request({}, { success: Schema.Number })
 * })
 *
 * const counter = Behavior.make(Counter, {
 *   initial: 0,
 *   receive: {
 *     Add: (count, { n }) => Effect.succeed(count + n),
 *     Get: (count) => Effect.succeed({ state: count, reply: count })
 *   }
 * })
 * ```
 */
import { type Duration, Effect, type Fiber, type Option, Schema, type Scope } from "effect"
import type { ActorRef } from "./ActorRef.ts"
import type { ActorSystemService, SpawnError, SpawnOptions } from "./ActorSystem.ts"
import type * as Protocol from "./Protocol.ts"
import type { Strategy } from "./Supervisor.ts"
import type { Terminated } from "./Terminated.ts"

/** What a request handler returns: the next state and the reply to the caller. */
export interface Reply<S, A> {
  readonly state: S
  readonly reply: A
}

/** Timers that send messages to the actor itself; cancelled when the actor stops or restarts. */
export interface Timers<P extends Protocol.Any> {
  /** Sends `message` to self once after `delay`. Replaces a timer with the same key. */
  startSingle(key: string, message: Protocol.Message<P>, delay: Duration.Input): Effect.Effect<void>
  /** Sends `message` to self every `interval`. Replaces a timer with the same key. */
  startPeriodic(key: string, message: Protocol.Message<P>, interval: Duration.Input): Effect.Effect<void>
  /** Cancels a timer; a message it already sent but that was not handled yet is discarded. */
  cancel(key: string): Effect.Effect<void>
  /** Whether a timer with this key is active. */
  isActive(key: string): boolean
}

/** What a handler can do besides computing the next state. */
export interface ActorContext<P extends Protocol.Any> {
  /** This actor's own ref. */
  readonly self: ActorRef<P>
  /** The actor that sent the message being handled, when it was sent from an actor. */
  readonly sender: Option.Option<ActorRef<Protocol.Any>>
  /** The system this actor lives in. */
  readonly system: ActorSystemService
  /** The live children, in start order. */
  readonly children: ReadonlyArray<ActorRef<Protocol.Any>>
  /**
   * The actor's scope: resources acquired in it are released when the actor stops or restarts.
   * (`init` runs in this scope already.)
   */
  readonly scope: Scope.Scope
  /** Timers that message this actor. */
  readonly timers: Timers<P>
  /** Spawns a child supervised by this actor. */
  spawn<Q extends Protocol.Any, S, R>(
    behavior: Behavior<Q, S, R>,
    options?: SpawnOptions
  ): Effect.Effect<ActorRef<Q>, SpawnError, R>
  /** Stops a child (its children first) and waits until it has terminated. */
  stop(child: ActorRef<Protocol.Any>): Effect.Effect<void>
  /** Stops this actor once the current message has been handled. */
  readonly stopSelf: Effect.Effect<void>
  /** Watches an actor: this actor's `onTerminated` handler is called once when it terminates. */
  watch(ref: ActorRef<Protocol.Any>): Effect.Effect<void>
  /** Watches an actor: `message` is delivered to this actor once when it terminates. */
  watchWith(ref: ActorRef<Protocol.Any>, message: Protocol.Message<P>): Effect.Effect<void>
  /** Stops watching an actor; no notification is delivered afterwards. */
  unwatch(ref: ActorRef<Protocol.Any>): Effect.Effect<void>
  /**
   * Puts the message being handled aside and ends the handler here with the state unchanged. Stashed
   * messages come back, in order and before any other message, after {@link unstashAll}.
   */
  readonly stash: Effect.Effect<never>
  /** Once the current message has been handled, puts every stashed message back at the head of the mailbox. */
  readonly unstashAll: Effect.Effect<void>
  /** Runs an effect in the background for as long as the actor lives (it is interrupted on stop or restart). */
  fork<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Fiber.Fiber<A, E>, never, R>
}

type FieldsOf<D> =
  D extends Protocol.RequestDef<infer F, Schema.Top, Schema.Top> ? F : D extends Schema.Struct.Fields ? D : never

/** What the handler of a message returns: the next state, and for a request the reply as well. */
export type HandlerResult<D, S> =
  D extends Protocol.RequestDef<Schema.Struct.Fields, infer Success, Schema.Top> ? Reply<S, Success["Type"]> : S

/** The handler for one message tag. (`R` stays outside the conditional types, so that it is inferred.) */
export type Handler<P extends Protocol.Any, K extends string, S, R> = (
  state: S,
  message: { readonly _tag: K } & Schema.Struct.Type<FieldsOf<Protocol.DefinitionOf<P>[K]>>,
  ctx: ActorContext<P>
) => Outcome<HandlerResult<Protocol.DefinitionOf<P>[K], S>, R>

/**
 * What a handler returns: an Effect, or (when the handler is a generator function, `function* (state, msg) {…}`)
 * a generator that yields effects as `Effect.gen` does. A generator handler is made into an effect once, not on
 * every message, which makes it several times cheaper than an arrow returning `Effect.gen(...)`.
 */
export type Outcome<A, R> = Effect.Effect<A, unknown, R> | Generator<Effect.Effect<unknown, unknown, R>, A, never>

/**
 * Where `make` infers what the handlers need (`R`) from: TypeScript does not infer through the mapped type
 * of {@link Handlers}, but does through an index signature.
 */
type RequirementsOf<R> = {
  readonly [tag: string]: (...args: ReadonlyArray<never>) => Outcome<unknown, R>
}

/** One handler per message tag of the protocol. */
export type Handlers<P extends Protocol.Any, S, R> = {
  readonly [K in keyof Protocol.DefinitionOf<P> & string]: Handler<P, K, S, R>
}

/** An actor's definition: its protocol, how its state starts, and how it handles messages. */
export interface Behavior<P extends Protocol.Any, S, R = never> {
  readonly protocol: P
  /** The initial state, when no `init` effect is given. */
  readonly initial: S | undefined
  /** Computes the initial state, in the actor's scope. Runs at spawn and after every restart. */
  readonly init: ((ctx: ActorContext<P>) => Effect.Effect<S, unknown, R | Scope.Scope>) | undefined
  readonly receive: Handlers<P, S, R>
  /** Called once for each watched actor that terminates (see `ctx.watch`). */
  readonly onTerminated:
    | ((state: S, terminated: Terminated, ctx: ActorContext<P>) => Effect.Effect<S, unknown, R>)
    | undefined
  /** How this actor supervises its children. */
  readonly supervision: Strategy | undefined
}

/** The options of {@link make}: an `initial` state or an `init` effect, and the handlers. */
export type MakeOptions<P extends Protocol.Any, S, R, RI> = (
  | { readonly initial: S; readonly init?: never }
  | { readonly init: (ctx: ActorContext<P>) => Effect.Effect<S, unknown, RI>; readonly initial?: never }
) & {
  readonly receive: Handlers<P, S, R> & RequirementsOf<R>
  readonly onTerminated?: (state: S, terminated: Terminated, ctx: ActorContext<P>) => Effect.Effect<S, unknown, R>
  readonly supervision?: Strategy
}

/**
 * Makes a behaviour for a protocol. Give either `initial` (a state) or `init` (an effect computing it in
 * the actor's scope, where resources can be acquired), and one handler per message tag.
 */
export const make = <P extends Protocol.Any, S, R = never, RI = never>(
  protocol: P,
  options: MakeOptions<P, S, R, RI>
): Behavior<P, S, R | Exclude<RI, Scope.Scope>> => ({
  protocol,
  initial: options.initial,
  init: options.init as Behavior<P, S, R | Exclude<RI, Scope.Scope>>["init"],
  receive: Object.fromEntries(
    Object.entries(options.receive as Readonly<Record<string, unknown>>).map(([tag, handler]) => [
      tag,
      isGeneratorFunction(handler) ? Effect.fnUntraced(handler as never) : handler
    ])
  ) as Handlers<P, S, R>,
  onTerminated: options.onTerminated,
  supervision: options.supervision
})

const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor

const isGeneratorFunction = (
  f: unknown
): f is (...args: ReadonlyArray<never>) => Generator<Effect.Effect<unknown, unknown, unknown>, unknown, never> =>
  f instanceof GeneratorFunction
/** An actor stashed more messages than its mailbox capacity; it fails with this. */
export class StashOverflow extends Schema.TaggedError<StashOverflow>()("StashOverflow", {
  path: Schema.String,
  capacity: Schema.Number
}) {
  override get message() {
    return `${this.path} stashed more than ${this.capacity} messages`
  }
}
