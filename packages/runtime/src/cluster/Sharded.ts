/**
 * Sharded actors: a protocol and a behaviour registered as an Effect Cluster entity type, so that an actor
 * is addressed by (type, id) anywhere in the cluster, placed on a runner by the cluster, moved when runners
 * join or leave, and started again (with its durable state) on its next message after a crash.
 *
 * Each entity is a Troupe actor on the runner that holds its shard: the cluster routes, stores and
 * redelivers messages; the actor handles them with the behaviour's handlers, supervision and typed replies.
 * A ref from {@link ref} is an `ActorRef`: `tell`, and `ask` with a deadline and the request's typed failure;
 * the protocol's schemas are the wire format between runners.
 *
 * @example
 * ```ts
 * const Counters = Sharded.make("Counter", {
 *   behavior: () => counterBehavior,
 *   state: Schema.Number // stored by `Storage`: a reactivated counter continues where it was
 * })
 * const program = Effect.gen(function* () {
 *   const counter = yield* Sharded.ref(Counters, "c-42")
 *   yield* counter.tell(Counter.Add({ n: 1 }))
 *   yield* counter.ask(Counter.Get()) // 1
 * }).pipe(Effect.provide(Sharded.layer(Counters)), Effect.provide(Cluster.layerSqlite({ filename: "troupe.db" })))
 * ```
 */
import { Cause, Duration, Effect, type Layer, Schema, type Scope } from "effect"
import { ClusterError, ClusterSchema, Entity, type Sharding } from "effect/cluster"
import { Rpc } from "effect/rpc"
import {
  type ActorRef,
  type AskError,
  type AskOptions,
  AskTimeout,
  RecipientTerminated,
  RequestFailed,
  TypeId
} from "../ActorRef.ts"
import { ActorSystem } from "../ActorSystem.ts"
import type { Behavior } from "../Behavior.ts"
import * as Durable from "../durable/Durable.ts"
import type { Storage } from "../durable/Storage.ts"
import { MailboxFull } from "../Mailbox.ts"
import * as Protocol from "../Protocol.ts"

/** A sharded actor type: its name in the cluster, its protocol, and how each of its actors behaves. */
export interface Sharded<P extends Protocol.Any, R> {
  /** The entity type's name: unique in the cluster. */
  readonly name: string
  readonly protocol: P
  /** @internal The Effect Cluster entity behind it. */
  readonly entity: Entity.Entity<string, Rpc.Any>
  /** @internal Spawns the actor of one id on this runner. */
  readonly spawn: (id: string) => Effect.Effect<ActorRef<P>, unknown, R | ActorSystem>
  /** @internal */
  readonly options: LayerOptions
}

/** Options of {@link make}. */
export interface Options<P extends Protocol.Any, S, R, I> extends LayerOptions {
  /** The behaviour of the actor with a given id (its `init` runs at every activation). */
  readonly behavior: (id: string) => Behavior<P, S, R>
  /**
   * How the state is stored, under the persistence id `<name>/<id>` (see `Durable.persistent`): then an
   * actor that is passivated, moved or started again after a crash continues with its last state. Without it
   * the state lives only while the actor is active.
   */
  readonly state?: Schema.Codec<S, I>
  /**
   * Store messages in the cluster's database before they are delivered (Effect Cluster's `Persisted`): a
   * message accepted by `tell` or `ask` survives the crash of any runner and is delivered to the actor's next
   * activation. Default `true` when `state` is given, `false` otherwise (messages then go runner to runner
   * only, as with unsharded actors).
   */
  readonly persisted?: boolean
}

/** How a runner hosts the actors of a type. */
export interface LayerOptions {
  /** How long an actor stays active without messages before it is passivated. Default: the cluster's (1 min). */
  readonly maxIdleTime?: Duration.Input
  /** How long a handler may run for one message on the runner (its own deadline, besides the caller's). */
  readonly handlerTimeout?: Duration.Input
  /** Messages waiting for one actor on its runner before senders get `MailboxFull`. Default: the cluster's. */
  readonly mailboxCapacity?: number
}

/** What the cluster itself can answer instead of the actor (the errors every request may fail with). */
const ClusterFailure = Schema.Union([RequestFailed, RecipientTerminated, AskTimeout, MailboxFull])

/**
 * Makes a sharded actor type from a protocol's behaviour: each message tag becomes a cluster RPC whose payload
 * is the message's schema, and each request's reply and typed failure its success and error.
 *
 * @example
 * ```ts
 * const Tickets = Sharded.make("Ticket", { behavior: (id) => ticket(id), state: TicketState })
 * ```
 */
export const make = <P extends Protocol.Any, S, R, I>(
  name: string,
  options: Options<P, S, R, I> & { readonly protocol?: P }
): Sharded<P, Exclude<R, Storage> | (undefined extends typeof options.state ? never : Storage)> => {
  const probe = options.behavior("")
  const protocol = options.protocol ?? probe.protocol
  const persisted = options.persisted ?? options.state !== undefined
  const rpcs = [...protocol.tags].map((tag) => {
    const def = Protocol.requestDef(protocol, tag)
    const rpc = Rpc.make(tag, {
      payload: protocol.messageSchemas[tag]!,
      success: def === undefined ? Schema.Void : def.success,
      error: def === undefined ? ClusterFailure : Schema.Union([def.failure, ClusterFailure])
    })
    return persisted ? rpc.annotate(ClusterSchema.Persisted, true) : rpc
  })
  const entity = Entity.make(name, rpcs) as unknown as Entity.Entity<string, Rpc.Any>
  const state = options.state
  return {
    name,
    protocol,
    entity,
    options,
    spawn: (id) =>
      ActorSystem.use((system) =>
        system.spawn(
          state === undefined
            ? options.behavior(id)
            : (Durable.persistent(options.behavior(id), { id: `${name}/${id}`, state }) as unknown as Behavior<P, S, R>)
        )
      )
  } as Sharded<P, never>
}

/**
 * Hosts a sharded type's actors on this runner: the cluster sends them here for the shards this runner
 * holds. Every runner that should take a share of the type's actors provides this layer (over a cluster
 * layer, see `Cluster`).
 */
export const layer = <P extends Protocol.Any, R>(
  type: Sharded<P, R>
): Layer.Layer<never, never, Sharding.Sharding | ActorSystem | Exclude<R, Scope.Scope>> =>
  type.entity.toLayer(
    Effect.gen(function* () {
      const address = yield* Entity.CurrentAddress
      const system = yield* ActorSystem
      const actor = yield* Effect.orDie(type.spawn(address.entityId))
      yield* Effect.addFinalizer(() => system.stop(actor))
      const handlerTimeout = type.options.handlerTimeout ?? "1 minute"
      const handlers: Record<string, (request: { readonly payload: never }) => Effect.Effect<unknown, unknown>> = {}
      for (const tag of type.protocol.tags) {
        handlers[tag] =
          Protocol.requestDef(type.protocol, tag) === undefined
            ? ({ payload }) => actor.tell(payload)
            : ({ payload }) => actor.ask(payload, { timeout: handlerTimeout })
      }
      return handlers as never
    }),
    {
      ...(type.options.maxIdleTime === undefined ? {} : { maxIdleTime: type.options.maxIdleTime }),
      ...(type.options.mailboxCapacity === undefined ? {} : { mailboxCapacity: type.options.mailboxCapacity })
    }
  ) as unknown as Layer.Layer<never, never, Sharding.Sharding | ActorSystem | Exclude<R, Scope.Scope>>

/** The path a sharded actor's ref shows: `/cluster/<type>/<id>`. */
export const path = (type: { readonly name: string }, id: string): string => `/cluster/${type.name}/${id}`

const DEFAULT_TIMEOUT = Duration.seconds(5)

type Client = Record<
  string,
  (payload: unknown, options?: { readonly discard?: boolean }) => Effect.Effect<unknown, unknown>
>

/**
 * A ref to the actor of `type` with id `id`, wherever the cluster places it (activated on its first message).
 *
 * @example
 * ```ts
 * const ticket = yield* Sharded.ref(Tickets, "t-1")
 * yield* ticket.ask(Ticket.Assign({ to: "ana" }), { timeout: "2 seconds" })
 * ```
 */
export const ref = <P extends Protocol.Any, R>(
  type: Sharded<P, R>,
  id: string
): Effect.Effect<ActorRef<P>, never, Sharding.Sharding> =>
  Effect.map(type.entity.client, (clientFor) => refOf(type, id, clientFor(id) as unknown as Client))

/** Makes refs of one type without going through the context again for each id (for callers that make many). */
export const refs = <P extends Protocol.Any, R>(
  type: Sharded<P, R>
): Effect.Effect<(id: string) => ActorRef<P>, never, Sharding.Sharding> =>
  Effect.map(type.entity.client, (clientFor) => (id: string) => refOf(type, id, clientFor(id) as unknown as Client))

const refOf = <P extends Protocol.Any>(type: Sharded<P, unknown>, id: string, client: Client): ActorRef<P> => {
  const recipient = path(type, id)
  const fromCluster = (tag: string) => (error: unknown) =>
    error instanceof ClusterError.MailboxFull
      ? new MailboxFull({ recipient, capacity: type.options.mailboxCapacity ?? 0, tag })
      : isClusterError(error)
        ? new RequestFailed({ recipient, tag, cause: error.message })
        : error
  return {
    [TypeId]: TypeId,
    protocol: type.protocol,
    path: recipient,
    name: id,
    node: "cluster",
    tell: (message) => {
      const tag = (message as { readonly _tag: string })._tag
      return client[tag]!(message, { discard: true }).pipe(
        Effect.catch((error) => {
          const failure = fromCluster(tag)(error)
          return failure instanceof MailboxFull ? Effect.fail(failure) : Effect.die(failure)
        })
      ) as Effect.Effect<void, MailboxFull>
    },
    ask: (message, options?: AskOptions) => {
      const tag = (message as { readonly _tag: string })._tag
      const timeout = options?.timeout === undefined ? DEFAULT_TIMEOUT : Duration.fromInputUnsafe(options.timeout)
      return client[tag]!(message).pipe(
        Effect.mapError(fromCluster(tag)),
        Effect.catchDefect((defect) =>
          Effect.fail(new RequestFailed({ recipient, tag, cause: Cause.pretty(Cause.die(defect)) }))
        ),
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () => Effect.fail(new AskTimeout({ recipient, tag, timeoutMillis: Duration.toMillis(timeout) }))
        })
      ) as Effect.Effect<never, AskError>
    }
  }
}

const isClusterError = (error: unknown): error is Error =>
  error instanceof ClusterError.EntityNotAssignedToRunner ||
  error instanceof ClusterError.MalformedMessage ||
  error instanceof ClusterError.PersistenceError ||
  error instanceof ClusterError.RunnerNotRegistered ||
  error instanceof ClusterError.RunnerUnavailable ||
  error instanceof ClusterError.AlreadyProcessingMessage
