/**
 * Troupe for code that does not use Effect: a Node backend (Express, Fastify, `node:http`), a CLI, a test.
 * `Troupe.start` starts an actor system with the services its actors need (a language model, storage);
 * then everything is a Promise: spawn, tell, ask, stop, agents addressed by id (one per user or per
 * conversation), sessions and their results, and session events as an async iterable or as Server-Sent
 * Events for a browser. Behaviours are still written with Effect; the code that talks to them need not be.
 *
 * Failures reject the Promise with the typed error itself (`AskTimeout`, the request's declared failure,
 * `SessionAborted`, ...), so `catch (e) { if (e._tag === "AskTimeout") … }` works.
 *
 * With a `Storage` among the services, agents can be durable (a kind made with `Entity.make(…, { state })`
 * or `DurableAgent.entity`): their state survives a crash of the process, and a message sent with
 * `{ durable: true, id }` is stored before it is acknowledged and handled once per id (see `Durable`).
 *
 * @example
 * ```ts
 * const troupe = await Troupe.start({ services: ScriptedModel.layer([Turn.text("Hi!")]) })
 * const chats = troupe.agents("chat", () => Agent.make({ name: "chat", system: "Be brief." }))
 * const answer = await chats.get("conversation-42").ask(Agent.Protocol.Ask({ prompt: "Hello" }), { timeout: "1 minute" })
 * await troupe.shutdown()
 *
 * // one durable agent per customer, kept in a SQLite file
 * const api = await Troupe.start({ services: [OpenAi.layerConfig(), Storage.layerSqlite({ filename: "troupe.db" })] })
 * const support = api.agents(DurableAgent.entity("support", { name: "support", system: "You help customers." }))
 * const reply = await support.get(customerId).ask(Agent.Protocol.Ask({ prompt }), { durable: true, id: requestId })
 * ```
 */
import type { Choreography as Choreographies } from "@troupe/choreography"
import { Cause, type Duration, Effect, Exit, Layer, ManagedRuntime } from "effect"
import type { ActorRef, AskOptions } from "./ActorRef.ts"
import * as ActorSystem from "./ActorSystem.ts"
import type { Behavior } from "./Behavior.ts"
import type * as Session from "./choreography/Session.ts"
import type { SessionEvent } from "./choreography/SessionEvent.ts"
import type * as Entity from "./durable/Entity.ts"
import { AgentsById, plainKind } from "./internal/agentsById.ts"
import { EventFeed } from "./internal/eventFeed.ts"
import { actorOf, makeRef } from "./internal/promiseRef.ts"
import { TroupeSessions } from "./internal/troupeSessions.ts"
import type * as Mailbox from "./Mailbox.ts"
import type * as Protocol from "./Protocol.ts"
import type { RestartPolicy } from "./Supervisor.ts"
import type { SystemEvent } from "./SystemEvent.ts"
import type { Terminated } from "./Terminated.ts"

export { SessionNotFound } from "./internal/eventFeed.ts"

/**
 * An actor, driven with Promises. Refs from `spawn` and `lookup` point at one actor; a ref from
 * {@link Agents.get} points at an id, whose actor is spawned when a message needs it.
 */
export interface Ref<P extends Protocol.Any> {
  /** The actor's path, e.g. `/user/counter` or `/user/chat/conversation-42`. */
  readonly path: string
  /**
   * Sends a message; resolves once it is in the mailbox. Rejects with `MailboxFull` (see the mailbox's
   * policy). With `{ durable: true }`, resolves once it is stored (see {@link SendOptions}).
   */
  tell(message: Protocol.Message<P>, options?: SendOptions): Promise<void>
  /**
   * Sends a request and resolves with its reply. Rejects with the request's declared failure or an
   * `AskError` (`AskTimeout`, `RecipientTerminated`, `RequestFailed`, ...). With `{ durable: true, id }`, the
   * request is stored first and handled once per id: asked again with the same id, it gets the first reply.
   */
  ask<M extends Protocol.Request<P>>(
    message: M,
    options?: AskOptions & SendOptions
  ): Promise<Protocol.Success<P, M["_tag"]>>
  /** Stops the actor (its children first) and resolves once it has terminated. */
  stop(): Promise<void>
  /** The actor's Effect ref (spawning it first, for an agent by id): to put in a message, or for Effect code. */
  actorRef(): Promise<ActorRef<P>>
}

/**
 * How a message is sent. `durable: true` stores it before the Promise resolves, and the recipient (a durable
 * agent or actor of this node: see `Durable`, `Entity`) handles it at least once, even if the process
 * crashes meanwhile, and never twice for one `id`. Rejects with `NotDurable` if the recipient is not durable.
 *
 * @example
 * ```ts
 * await carts.get(customer).tell(Cart.Add({ sku }), { durable: true, id: requestId })
 * ```
 */
export interface SendOptions {
  readonly durable?: boolean
  /** The message's id, for deduplication (e.g. the request's idempotency key); a fresh UUID by default. */
  readonly id?: string | undefined
}

/** How the agents of a kind are spawned (see {@link Troupe.agents}). */
export interface AgentsOptions {
  /** Their mailbox; the system's default otherwise. */
  readonly mailbox?: Mailbox.Config
  /** When the root guardian restarts one; `"transient"` (after failures only) by default. */
  readonly restart?: RestartPolicy
  /** How long one may take to finish its current message when stopped. */
  readonly shutdownTimeout?: Duration.Input
  /**
   * How long an agent may be idle before it is stopped to free its memory (the next message spawns it
   * again); `"never"` by default. Use a durable kind (`Entity.make` with a `state`) to keep its state.
   */
  readonly passivateAfter?: Duration.Input | "never"
}

/** The agents of one kind, addressed by id: `get(id)` is the agent with that id, spawned when first needed. */
export interface Agents<P extends Protocol.Any> {
  /** The kind, e.g. `"chat"`. */
  readonly kind: string
  /**
   * The agent with this id (any non-empty string), e.g. a user's or a conversation's id. Its first message
   * spawns it, as `/user/<kind>/<id>`; it then lives until stopped or passivated, and a later message spawns
   * it again (from its stored state, for a durable kind).
   */
  get(id: string): Ref<P>
  /** The ids whose agents are alive now. */
  ids(): ReadonlyArray<string>
}

/** Who plays each role of a session: a participant actor per role, as a {@link Ref} or an Effect `ActorRef`. */
export type Roles<P> = {
  readonly [R in Choreographies.RolesOf<P>]: Ref<Session.Participant<P, R>> | ActorRef<Session.Participant<P, R>>
}

/** The result of each role, from the refs bound to the roles. */
export type ResultsOf<B> = Session.ResultsOf<{
  readonly [R in keyof B]: B[R] extends Ref<infer Q> ? ActorRef<Q> : B[R]
}>

/** How a session runs (see `Session.Options`), with roles bound to refs of either kind. */
export type SessionOptions<P, B> = Omit<Session.Options<P, Session.Bindings<P>>, "roles"> & { readonly roles: B }

/** A running session. */
export interface SessionHandle<Results> {
  readonly id: string
  /** The protocol's name. */
  readonly protocol: string
  /** Every role's result and the trace; rejects with `SessionAborted` (its `cause` says why). */
  readonly result: Promise<Session.Completed<Results>>
  /** Aborts the session for every participant (`SessionCancelled`); resolves once it has ended. */
  abort(reason?: string): Promise<void>
}

/**
 * The events of one session, from its start: iterate them (`for await`), or serve them to a browser as
 * Server-Sent Events (`response()`, or `writeTo(res)` for a Node response). Each ends after `SessionEnded`.
 */
export interface SessionEvents extends AsyncIterable<SessionEvent> {
  /** A `text/event-stream` Response (for fetch-style servers): 404 if the session is unknown. */
  response(): Response
  /**
   * Writes the events to a Node `ServerResponse` (`node:http`, Express's `res`, Fastify's `reply.raw`) as
   * Server-Sent Events, and resolves when the session has ended or the client has gone.
   */
  writeTo(res: NodeResponse): Promise<void>
}

/** The part of a Node `ServerResponse` that {@link SessionEvents.writeTo} uses. */
export interface NodeResponse {
  readonly headersSent: boolean
  writeHead(status: number, headers: Readonly<Record<string, string>>): unknown
  write(chunk: string): boolean
  end(): unknown
  once(event: "close", listener: () => void): unknown
  once(event: "drain", listener: () => void): unknown
  off(event: "close" | "drain", listener: () => void): unknown
}

/** A running actor system, driven with Promises; `R` is what `services` provides to its actors. */
export interface Troupe<R = never> extends AsyncDisposable {
  /** The underlying system, for code that does use Effect. */
  readonly system: ActorSystem.ActorSystemService
  /** Spawns a top-level actor. Its behaviour may need the services given to `start`. Rejects with a `SpawnError`. */
  spawn<P extends Protocol.Any, S>(
    behavior: Behavior<P, S, R | ActorSystem.ActorSystem>,
    options?: ActorSystem.SpawnOptions
  ): Promise<Ref<P>>
  /**
   * A kind of agents addressed by id: `agents("chat", (id) => behaviour).get(id)` gets or spawns the agent
   * for that id. `make` may need the services given to `start`. Throws if the kind is taken or not a valid
   * name (letters, digits and `_.@+=-`).
   */
  agents<P extends Protocol.Any, S>(
    kind: string,
    make: (id: string) => Behavior<P, S, R | ActorSystem.ActorSystem>,
    options?: AgentsOptions
  ): Agents<P>
  /**
   * The agents of an entity kind (`Entity.make`, `DurableAgent.entity`): durable when the kind has a state,
   * passivated as the kind says. Throws if a kind of that name is taken.
   */
  agents<P extends Protocol.Any>(kind: Entity.Kind<P, R | ActorSystem.ActorSystem>): Agents<P>
  /** Finds a live actor by path, on this node or (with `node`) another one. Rejects with `ActorNotFound`. */
  lookup<P extends Protocol.Any>(path: string, protocol: P, options?: { readonly node?: string }): Promise<Ref<P>>
  /** A Promise ref for an Effect ref (one that came in a message, say). */
  ref<P extends Protocol.Any>(actor: ActorRef<P>): Ref<P>
  /** Sends a message (see {@link Ref.tell}). */
  tell<P extends Protocol.Any>(
    ref: Ref<P> | ActorRef<P>,
    message: Protocol.Message<P>,
    options?: SendOptions
  ): Promise<void>
  /** Sends a request and resolves with its reply (see {@link Ref.ask}). */
  ask<P extends Protocol.Any, M extends Protocol.Request<P>>(
    ref: Ref<P> | ActorRef<P>,
    message: M,
    options?: AskOptions & SendOptions
  ): Promise<Protocol.Success<P, M["_tag"]>>
  /** Stops an actor and resolves when it has terminated. */
  stop(ref: Ref<Protocol.Any> | ActorRef<Protocol.Any>): Promise<void>
  /** Resolves when the actor terminates. */
  awaitTermination(ref: Ref<Protocol.Any> | ActorRef<Protocol.Any>): Promise<Terminated>
  /** Starts a session of participants (see `Session.start`); its events are recorded from the start. */
  startSession<P extends Choreographies.Protocol, const B extends Roles<P>>(
    protocol: P,
    options: SessionOptions<P, B>
  ): Promise<SessionHandle<ResultsOf<B>>>
  /** Runs a session to its end: every role's result, or a rejection with `SessionAborted`. */
  runSession<P extends Choreographies.Protocol, const B extends Roles<P>>(
    protocol: P,
    options: SessionOptions<P, B>
  ): Promise<Session.Completed<ResultsOf<B>>>
  /**
   * The events of a session of this system (started with `startSession` or by an actor), from its start, or from after `lastEventId` (what a reconnecting `EventSource` sends).
   */
  sessionEvents(id: string, options?: { readonly lastEventId?: string | undefined }): SessionEvents
  /**
   * The system's events from now on (spawns, failures, restarts, sessions, ...), until `return` or shutdown. A reader
   * that does not keep up keeps the latest 4,096 and gets an `EventsMissed` event in place of the older ones.
   */
  events(): AsyncIterable<SystemEvent>
  /** Runs an effect that needs the actor system or the services. */
  run<A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem | R>): Promise<A>
  /** Joins another node through the system's transport; resolves with its id. */
  connect(target: string): Promise<string>
  /** Ends the sessions still running, stops every actor and releases the services and the transport. */
  shutdown(): Promise<void>
}

/** A layer of services for the actors: it may fail to build, and needs nothing itself. */
export type ServiceLayer = Layer.Layer<never, unknown, never>

/** What a layer, or a list of layers, provides. */
export type ServicesOf<L> =
  L extends ReadonlyArray<infer Item> ? ServicesOf<Item> : L extends Layer.Any ? Layer.Success<L> : never

/** Options of {@link start}: the actor system's (see `ActorSystem.Options`), and the services. */
export interface Options<L extends ServiceLayer | ReadonlyArray<ServiceLayer>, E> extends ActorSystem.Options<E> {
  /**
   * What the actors need, as a layer or a list of layers: a language model (`OpenAi.layerConfig()`,
   * `ScriptedModel.layer(...)`), storage for durable agents (`Storage.layerSqlite({ filename })`,
   * `Storage.layerPostgres({ url })`), your own services. Built before the system, released after it.
   */
  readonly services?: L
}

/**
 * Starts an actor system. Give it `services` for what its actors need, and a `transport` (e.g.
 * `WebSocket.layer({ node, listen: { server } })` to share your HTTP server) to reach actors on other nodes.
 * Rejects if a service or the transport cannot start.
 *
 * @example
 * ```ts
 * const troupe = await Troupe.start({ name: "api", services: OpenAi.layerConfig() })
 * const counter = await troupe.spawn(counterBehavior, { name: "counter" })
 * await counter.tell(Counter.Add({ n: 1 }))
 * const n = await counter.ask(Counter.Get(), { timeout: "1 second" })
 * await troupe.shutdown()
 * ```
 */
export const start = async <L extends ServiceLayer | ReadonlyArray<ServiceLayer> = never, E = never>(
  options: Options<L, E> = {}
): Promise<Troupe<ServicesOf<L>>> => {
  type R = ServicesOf<L>
  const { services, ...systemOptions } = options
  const layers: ReadonlyArray<ServiceLayer> =
    services === undefined ? [] : Array.isArray(services) ? services : [services as ServiceLayer]
  const provided = layers.reduce((all, layer) => Layer.merge(all, layer), Layer.empty as ServiceLayer)
  const runtime = ManagedRuntime.make(
    ActorSystem.layer(systemOptions).pipe(Layer.provideMerge(provided as unknown as Layer.Layer<R>))
  )
  const run = async <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem | R>): Promise<A> => {
    const exit = await runtime.runPromiseExit(effect)
    if (Exit.isSuccess(exit)) return exit.value
    throw Cause.squash(exit.cause)
  }
  const system = await run(ActorSystem.ActorSystem.use(Effect.succeed)).catch(async (error: unknown) => {
    await runtime.dispose()
    throw error
  })
  // subscribed from the start: `events()` sees every event after its call, sessions are recorded from their start
  const feed = new EventFeed(system, run)
  await feed.open()
  const sessions = new TroupeSessions(run, feed)

  const ref = <P extends Protocol.Any>(actor: ActorRef<P>): Ref<P> =>
    makeRef(
      actor.path,
      () => Promise.resolve(actor),
      run,
      () => run(system.stop(actor))
    )
  const byId = new AgentsById(system, run)

  let stopping: Promise<void> | undefined
  const shutdown = () =>
    (stopping ??= (async () => {
      await sessions.endAll()
      await feed.close()
      await runtime.dispose()
    })())

  return {
    system,
    spawn: (behavior, spawnOptions) => run(system.spawn(behavior, spawnOptions)).then(ref),
    agents: <P extends Protocol.Any>(
      kind: string | Entity.Kind<P, R | ActorSystem.ActorSystem>,
      make?: (id: string) => Behavior<P, unknown, R | ActorSystem.ActorSystem>,
      agentsOptions: AgentsOptions = {}
    ) =>
      byId.kind(typeof kind === "string" ? plainKind(kind, make!, agentsOptions) : kind, (path, resolve, stop) =>
        makeRef(path, resolve, run, stop)
      ),
    lookup: (path, protocol, lookupOptions) => run(system.lookup(path, protocol, lookupOptions)).then(ref),
    ref,
    tell: (target, message, sendOptions) => ("actorRef" in target ? target : ref(target)).tell(message, sendOptions),
    ask: (target, message, askOptions) => ("actorRef" in target ? target : ref(target)).ask(message, askOptions),
    stop: (target) => actorOf(target).then((actor) => run(system.stop(actor))),
    awaitTermination: (target) => actorOf(target).then((actor) => run(system.awaitTermination(actor))),
    startSession: (protocol, sessionOptions) => sessions.start(protocol, sessionOptions),
    runSession: (protocol, sessionOptions) =>
      sessions.start(protocol, sessionOptions).then((session) => session.result),
    sessionEvents: (id, eventOptions) => feed.session(id, eventOptions?.lastEventId),
    events: () => feed.all(),
    run,
    connect: (target) => run(system.connect(target)),
    shutdown,
    [Symbol.asyncDispose]: shutdown
  }
}

/** Whether a rejection is one of Troupe's typed errors with this tag (`isError(e, "AskTimeout")`). */
export const isError = <Tag extends string>(error: unknown, tag: Tag): error is { readonly _tag: Tag } & Error =>
  error instanceof Error && (error as { readonly _tag?: unknown })._tag === tag
