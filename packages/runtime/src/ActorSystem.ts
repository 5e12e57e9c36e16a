/**
 * The actor system: where actors live. It spawns actors under a root guardian (`/user`), finds them by path,
 * stops them, tells whoever waits for them when they end, counts dead letters, publishes system events, and
 * shuts everything down in order when its scope closes: children before parents, in reverse start order,
 * each actor with its deadline and then interruption.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const counter = yield* ActorSystem.spawn(counterBehavior, { name: "counter" })
 *   yield* counter.tell(Counter.Add({ n: 1 }))
 *   return yield* counter.ask(Counter.Get())
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(ActorSystem.layer())))
 * ```
 */
import { Transport, TransportError } from "@troupe/transport"
import { Clock, Context, Effect, Layer, Option, References, Schema, type Scope, Stream, Tracer } from "effect"
import type { ActorRef } from "./ActorRef.ts"
import type { Behavior } from "./Behavior.ts"
import { CurrentActor } from "./internal/cell.ts"
import { Remoting } from "./internal/remoting.ts"
import { SystemImpl } from "./internal/system.ts"
import {
  checkOptions,
  InvalidSystemOptions,
  type Options,
  type SpawnOptions,
  settingsOf
} from "./internal/systemOptions.ts"
import type * as Protocol from "./Protocol.ts"
import { Custom, type SystemEvent } from "./SystemEvent.ts"
import type { Terminated } from "./Terminated.ts"

export { InvalidSystemOptions, type Options, type SpawnOptions }

/** The operations of an actor system. */
export interface ActorSystemService {
  /** The system's name. */
  readonly name: string
  /** This node's id. */
  readonly node: string
  /** Where other nodes reach this one (a `ws://` URL, or the node id in process), when it has a transport. */
  readonly address: Option.Option<string>
  /** Spawns a top-level actor (under `/user`), supervised by the root guardian. */
  spawn<P extends Protocol.Any, S, R>(
    behavior: Behavior<P, S, R>,
    options?: SpawnOptions
  ): Effect.Effect<ActorRef<P>, SpawnError, R>
  /**
   * Finds a live actor by path and checks that it speaks `protocol`; on another node when `node` is given
   * (then it asks that node).
   */
  lookup<P extends Protocol.Any>(
    path: string,
    protocol: P,
    options?: { readonly node?: string }
  ): Effect.Effect<ActorRef<P>, ActorNotFound>
  /**
   * Joins another node through the system's transport (a `ws://` URL, or a node id in process) and returns
   * its id once the link is up. The transport keeps it connected from then on.
   */
  connect(target: string): Effect.Effect<string, TransportError.NodeUnreachable>
  /** The ids of the nodes connected now. */
  readonly nodes: Effect.Effect<ReadonlyArray<string>>
  /** Stops an actor (its children first) and waits until it has terminated. */
  stop(ref: ActorRef<Protocol.Any>): Effect.Effect<void>
  /** Waits until an actor terminates; at once if it already has. */
  awaitTermination(ref: ActorRef<Protocol.Any>): Effect.Effect<Terminated>
  /** System events from the moment the stream is run. */
  readonly events: Stream.Stream<SystemEvent>
  /** Subscribes to system events now; the stream yields every event published after this effect. */
  readonly subscribe: Effect.Effect<Stream.Stream<SystemEvent>, never, Scope.Scope>
  /** How many messages became dead letters so far. */
  readonly deadLetters: Effect.Effect<number>
  /** A snapshot of the system's size: live actors, actors running right now, dead letters so far. */
  readonly stats: Effect.Effect<Stats>
  /** Stops every actor; the system accepts no new actor afterwards. Idempotent. */
  readonly shutdown: Effect.Effect<void>
}

/** @internal Access to the implementation behind a service (for the runtime's own modules). */
export const internal = (service: ActorSystemService): SystemImpl => (service as unknown as Internal)[InternalKey]

const InternalKey: unique symbol = Symbol.for("@troupe/runtime/ActorSystem/internal")
interface Internal {
  readonly [InternalKey]: SystemImpl
}

/** A snapshot of an actor system's size. */
export interface Stats {
  /** Live actors (the root guardian excluded). */
  readonly actors: number
  /** Actors that have a fiber right now (handling messages); idle actors have none. */
  readonly running: number
  readonly deadLetters: number
}

/** The actor system service. */
export class ActorSystem extends Context.Service<ActorSystem, ActorSystemService>()("@troupe/runtime/ActorSystem") {}

/** An actor with this name already exists under the same parent. */
export class NameTaken extends Schema.TaggedError<NameTaken>()("NameTaken", { path: Schema.String }) {
  override get message() {
    return `An actor named ${this.path} already exists`
  }
}

/** An actor name must be made of letters, digits and `_.~@:+=-`, and may not start with `$`. */
export class InvalidName extends Schema.TaggedError<InvalidName>()("InvalidName", { name: Schema.String }) {
  override get message() {
    return `Invalid actor name ${JSON.stringify(this.name)}: use letters, digits and _.~@:+=- (not starting with $)`
  }
}

/** The actor's initialisation failed; it was not started. */
export class SpawnFailed extends Schema.TaggedError<SpawnFailed>()("SpawnFailed", {
  path: Schema.String,
  cause: Schema.String
}) {
  override get message() {
    return `Spawning ${this.path} failed: ${this.cause}`
  }
}

/** The system (or the parent) is shutting down and accepts no new actor. */
export class SystemShuttingDown extends Schema.TaggedError<SystemShuttingDown>()("SystemShuttingDown", {
  system: Schema.String
}) {
  override get message() {
    return `Actor system ${this.system} is shutting down`
  }
}

/** Why a spawn can fail. */
export type SpawnError = NameTaken | InvalidName | SpawnFailed | SystemShuttingDown

/**
 * No live actor at this path speaks the expected protocol (`reason`: `no-actor`, `protocol-mismatch`), the node
 * could not be asked (`unreachable`), or the node restarted before it answered (`restarted`: look it up again, the
 * new incarnation answers).
 *
 * @example
 * system.lookup("/user/echo", Echo, { node: "b" }).pipe(
 *   Effect.catchTag("ActorNotFound", (error) => Effect.log(error.message))
 * )
 */
export class ActorNotFound extends Schema.TaggedError<ActorNotFound>()("ActorNotFound", {
  path: Schema.String,
  protocol: Schema.String,
  node: Schema.String,
  reason: Schema.Literals(["no-actor", "protocol-mismatch", "unreachable", "restarted"])
}) {
  override get message() {
    const where = `${this.node}${this.path}`
    return this.reason === "no-actor"
      ? `No actor at ${where}`
      : this.reason === "unreachable"
        ? `Could not ask node ${this.node} for ${this.path}: it is not reachable`
        : this.reason === "restarted"
          ? `Node ${this.node} restarted before it answered the lookup of ${this.path}: look it up again (its new incarnation answers)`
          : `The actor at ${where} does not speak ${this.protocol}`
  }
}

/**
 * Makes an actor system that shuts down when the scope closes; fails with `InvalidSystemOptions` if an option
 * has a value it cannot take.
 */
export const make: <E = never>(
  options?: Options<E>
) => Effect.Effect<ActorSystemService, E | InvalidSystemOptions, Scope.Scope> = Effect.fnUntraced(function* <E>(
  options: Options<E> = {}
) {
  yield* checkOptions(options)
  const name = options.name ?? "troupe"
  const transport =
    options.transport === undefined
      ? yield* Effect.serviceOption(Transport.Transport)
      : Option.some(Context.get(yield* Layer.build(options.transport), Transport.Transport))
  const clock = yield* Clock.Clock
  const tracer = yield* Effect.tracer
  const tracerEnabled = yield* References.TracerEnabled
  const context = yield* Effect.context<never>()
  const impl = new SystemImpl(
    settingsOf(options, {
      name,
      node: Option.match(transport, { onNone: () => options.node ?? name, onSome: (t) => t.node }),
      tracing: tracerEnabled && tracer !== Tracer.nativeTracer
    }),
    clock,
    context
  )
  const service: ActorSystemService & Internal = {
    [InternalKey]: impl,
    name,
    node: impl.node,
    address: Option.flatMap(transport, (t) => t.address),
    spawn: (behavior, spawnOptions) => impl.spawn(impl.guardian, behavior, spawnOptions),
    lookup: (path, protocol, lookupOptions) =>
      Effect.suspend(() => {
        const node = lookupOptions?.node ?? impl.node
        const notFound = (reason: ActorNotFound["reason"]) =>
          new ActorNotFound({ path, protocol: protocol.name, node, reason })
        if (node !== impl.node) {
          if (impl.remoting === undefined) return Effect.fail(notFound("unreachable"))
          return Effect.mapError(impl.remoting.lookup(node, path, protocol), (error) =>
            notFound(typeof error === "string" ? error : "unreachable")
          )
        }
        const cell = impl.registry.get(path)
        if (cell === undefined || cell.isTerminated) return Effect.fail(notFound("no-actor"))
        if (cell.protocol !== protocol) return Effect.fail(notFound("protocol-mismatch"))
        return Effect.succeed(cell.ref as unknown as ActorRef<typeof protocol>)
      }),
    connect: (target) =>
      impl.remoting === undefined
        ? Effect.fail(
            new TransportError.NodeUnreachable({
              node: target,
              reason: "stopped",
              detail: "this actor system has no transport: provide one (InProcess.layer or WebSocket.layer)"
            })
          )
        : Effect.map(impl.remoting.transport.connect(target), (peer) => peer.node),
    nodes: Effect.sync(() => [...(impl.remoting?.peers.keys() ?? [])]),
    stop: (ref) => impl.stop(ref),
    awaitTermination: (ref) => impl.awaitTermination(ref),
    events: impl.eventStream(),
    subscribe: impl.subscribe(),
    deadLetters: Effect.sync(() => impl.deadLetterCount),
    stats: Effect.sync(() => ({
      actors: impl.registry.size,
      running: impl.running,
      deadLetters: impl.deadLetterCount
    })),
    shutdown: impl.shutdown()
  }
  impl.service = service
  if (Option.isSome(transport)) {
    impl.remoting = new Remoting(impl, transport.value)
    yield* impl.remoting.start
  }
  // added last, so it runs first: actors stop while remoting still carries their last messages
  yield* Effect.addFinalizer(() => impl.shutdown())
  return ActorSystem.of(service)
})

/** A layer providing an actor system; it shuts down when the layer is released. */
export const layer = <E = never>(options: Options<E> = {}): Layer.Layer<ActorSystem, E | InvalidSystemOptions> =>
  Layer.effect(ActorSystem, make(options))

/** Spawns a top-level actor in the current system. */
export const spawn = <P extends Protocol.Any, S, R>(
  behavior: Behavior<P, S, R>,
  options?: SpawnOptions
): Effect.Effect<ActorRef<P>, SpawnError, R | ActorSystem> =>
  ActorSystem.use((system) => system.spawn(behavior, options))

/** Finds a live actor by path, on this node or (with `node`) another one. */
export const lookup = <P extends Protocol.Any>(
  path: string,
  protocol: P,
  options?: { readonly node?: string }
): Effect.Effect<ActorRef<P>, ActorNotFound, ActorSystem> =>
  ActorSystem.use((system) => system.lookup(path, protocol, options))

/** Joins another node through the system's transport; returns its id. */
export const connect = (target: string): Effect.Effect<string, TransportError.NodeUnreachable, ActorSystem> =>
  ActorSystem.use((system) => system.connect(target))

/** Stops an actor and waits until it has terminated. */
export const stop = (ref: ActorRef<Protocol.Any>): Effect.Effect<void, never, ActorSystem> =>
  ActorSystem.use((system) => system.stop(ref))

/** Waits until an actor terminates. */
export const awaitTermination = (ref: ActorRef<Protocol.Any>): Effect.Effect<Terminated, never, ActorSystem> =>
  ActorSystem.use((system) => system.awaitTermination(ref))

/** The current system's events from the moment the stream is run. */
export const events: Stream.Stream<SystemEvent, never, ActorSystem> = Stream.unwrap(
  ActorSystem.use((system) => Effect.succeed(system.events))
)

/**
 * Publishes an event of your own on the event stream of the actor system the current fiber works in (the
 * current actor's system, else the `ActorSystem` in context), as a `Custom` event about the current actor.
 * Does nothing outside any actor system.
 *
 * @example
 * ```ts
 * yield* ActorSystem.publish("billing", { _tag: "InvoiceSent", invoice: "2026-17" })
 * ```
 */
export const publish = <E extends { readonly _tag: string }>(source: string, event: E): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const actor = fiber.getRef(CurrentActor)
    if (actor !== undefined) {
      actor.system.publish(new Custom({ source, path: actor.path, event }))
      return Effect.void
    }
    return Effect.map(Effect.serviceOption(ActorSystem), (system) => {
      if (system._tag === "Some") internal(system.value).publish(new Custom({ source, path: undefined, event }))
    })
  })
