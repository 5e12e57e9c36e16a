/**
 * Sharded actors: a protocol and a behaviour registered as an Effect Cluster entity type, so that an actor
 * is addressed by (type, id) anywhere in the cluster, placed on a runner by the cluster, moved when runners
 * join or leave, and started again (with its durable state) on its next message after a crash.
 *
 * Each actor is a Troupe entity (see `Entity`: spawned on its first message, passivated when idle, durable
 * when the type has a `state`) on the runner that holds its shard: the cluster routes, stores and redelivers
 * messages; the actor handles them with the behaviour's handlers, supervision and typed replies. The cluster
 * places *buckets* of actors (a bucket is one Effect Cluster entity, chosen by a hash of the actor's id), so
 * that an active actor costs what a Troupe actor costs, not what an Effect Cluster entity costs (about 15 KB
 * each): docs/cluster.md has the figures.
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
import { Context, Duration, Effect, Hash, Layer, Option, Schema, Scope } from "effect"
import { Entity as ClusterEntity, ClusterSchema, Sharding } from "effect/cluster"
import { Rpc } from "effect/rpc"
import type { ActorRef } from "../ActorRef.ts"
import { ActorSystem, internal as systemInternal } from "../ActorSystem.ts"
import type { Behavior } from "../Behavior.ts"
import { badDuration } from "../Durations.ts"
import * as Entity from "../durable/Entity.ts"
import type { Storage } from "../durable/Storage.ts"
import { ClusterRefs } from "../internal/clusterRefs.ts"
import * as Protocol from "../Protocol.ts"
import * as ClusterStatus from "./ClusterStatus.ts"
import * as Bucket from "./internal/bucket.ts"
import * as ClusterRef from "./internal/clusterRef.ts"
import * as Delivery from "./internal/delivery.ts"
import * as Resolver from "./internal/resolver.ts"
import * as StopWatch from "./internal/stopWatch.ts"

export { ClusterUnavailable, Reason as ClusterUnavailableReason } from "./ClusterUnavailable.ts"

/** A sharded actor type: its name in the cluster, its protocol, and how each of its actors behaves. */
export interface Sharded<P extends Protocol.Any, R> {
  /** The type's name: unique in the cluster. */
  readonly name: string
  readonly protocol: P
  /** How many buckets the type's actors are spread over (each bucket is placed as one cluster entity). */
  readonly buckets: number
  /** @internal The Troupe entity kind that runs the actors on a runner. */
  readonly kind: Entity.Kind<P, R>
  /** @internal The Effect Cluster entity of the buckets. */
  readonly entity: ClusterEntity.Entity<string, Rpc.Any>
  /** Whether its actors' states and messages are stored (the type has a `state` and `persisted` is not false). */
  readonly durable: boolean
  /** @internal */
  readonly options: LayerOptions
  /** @internal The message that activates an actor for {@link stopped}, when the type can be waited on so. */
  readonly wake: Protocol.Message<P> | undefined
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
  /**
   * How many buckets the actors are spread over: the cluster places and moves buckets, each with the
   * actors whose id hashes to it. More buckets spread a few busy actors better; each active bucket costs
   * about 15 KB on its runner. Default 1,024. Fixed for the life of the type (changing it moves actors).
   */
  readonly buckets?: number
  /** @internal A message that activates an actor, so that {@link stopped} can wait for it (none by default). */
  readonly wake?: Protocol.Message<P>
}

/** How a runner hosts the actors of a type. */
export interface LayerOptions {
  /** How long an actor stays active without messages before it is passivated. Default 2 minutes. */
  readonly passivateAfter?: Duration.Input
  /** How long a handler may run for one message on the runner (its own deadline, besides the caller's). */
  readonly handlerTimeout?: Duration.Input
  /**
   * How long a bucket leaving this runner (its shard moved, or the runner stops) waits for its actors to stop.
   * Actors still running then are reported (a `StopTimedOut` event each and an error log naming them) and the
   * runner goes on without them. Default 30 seconds.
   */
  readonly stopTimeout?: Duration.Input
}

/**
 * An option of a sharded type has a value it cannot take (from plain JavaScript or a config file): thrown by
 * {@link make}, naming the option and what it may be.
 *
 * @example
 * ```ts
 * Sharded.make("Ticket", { behavior: ticket, stopTimeout: "30 sec" }) // throws InvalidShardedOptions
 * ```
 */
export class InvalidShardedOptions extends Schema.TaggedError<InvalidShardedOptions>()("InvalidShardedOptions", {
  type: Schema.String,
  option: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The sharded type ${this.type}'s option ${this.option} ${this.detail}`
  }
}

/**
 * Makes a sharded actor type from a protocol's behaviour (throws {@link InvalidShardedOptions} for an option it
 * cannot take): each message tag becomes a cluster RPC whose payload
 * is the actor's id and the message (the protocol's schema), and each request's reply and typed failure its
 * success and error.
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
  const bad =
    options.buckets !== undefined && !(Number.isInteger(options.buckets) && options.buckets >= 1)
      ? { option: "buckets", detail: `is ${String(options.buckets)}: expected a whole number from 1, e.g. 1024` }
      : badDuration([
          ["passivateAfter", options.passivateAfter],
          ["handlerTimeout", options.handlerTimeout],
          ["stopTimeout", options.stopTimeout]
        ])
  if (bad !== undefined) throw new InvalidShardedOptions({ type: name, ...bad })
  const protocol = options.protocol ?? options.behavior("").protocol
  const persisted = options.persisted ?? options.state !== undefined
  const rpcs = [...protocol.tags].map((tag) => {
    const def = Protocol.requestDef(protocol, tag)
    const rpc = Rpc.make(tag, {
      payload: { id: Schema.String, message: protocol.messageSchemas[tag]! },
      success: def === undefined ? Schema.Void : def.success,
      error: def === undefined ? Delivery.ClusterFailure : Schema.Union([def.failure, Delivery.ClusterFailure])
    })
    return persisted ? rpc.annotate(ClusterSchema.Persisted, true) : rpc
  })
  if (options.wake !== undefined) rpcs.push(StopWatch.rpc(Delivery.ClusterFailure) as never)
  const passivateAfter = options.passivateAfter ?? "2 minutes"
  const kind = (
    options.state === undefined
      ? Entity.make(name, protocol, { behavior: options.behavior, passivateAfter })
      : Entity.make(name, protocol, { behavior: options.behavior, state: options.state, passivateAfter })
  ) as Entity.Kind<P, never>
  return {
    name,
    protocol,
    buckets: options.buckets ?? 1024,
    durable: persisted && options.state !== undefined,
    kind,
    entity: ClusterEntity.make(name, rpcs) as unknown as ClusterEntity.Entity<string, Rpc.Any>,
    options: { ...options, passivateAfter },
    wake: options.wake
  }
}

/** How a bucket reaches its actor of an id (a ref made once per activation). */
type Actor<P extends Protocol.Any> = (id: string) => ActorRef<P>

/** The bucket of an actor id: the cluster entity id its messages go to. */
export const bucketOf = (type: { readonly buckets: number }, id: string): string =>
  String((Hash.string(id) >>> 0) % type.buckets)

/**
 * Hosts a sharded type's actors on this runner: the cluster sends them here for the shards this runner
 * holds. Every runner that should take a share of the type's actors provides this layer (over a cluster
 * layer, see `Cluster`).
 *
 * @example
 * ```ts
 * const runner = Layer.mergeAll(Sharded.layer(Tickets), Sharded.layer(Accounts)).pipe(
 *   Layer.provideMerge(ActorSystem.layer()),
 *   Layer.provideMerge(Cluster.layerSqlite({ filename: "troupe.db" }))
 * )
 * ```
 */
export const layer = <P extends Protocol.Any, R>(
  type: Sharded<P, R>
): Layer.Layer<never, never, Sharding.Sharding | ActorSystem | Exclude<R, Scope.Scope>> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const sharding = yield* Sharding.Sharding
      const scope = yield* Effect.scope
      const context = yield* Effect.context<ActorSystem | R>()
      const handlerTimeout = type.options.handlerTimeout ?? "1 minute"
      const stopTimeoutMillis = Duration.toMillis(type.options.stopTimeout ?? "30 seconds")
      const system = yield* ActorSystem
      const counters = ClusterStatus.countersOf(sharding)
      counters.set(type.name, () =>
        Effect.runSync(Entity.active(type.kind).pipe(Effect.provideService(ActorSystem, system)))
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => counters.delete(type.name)))
      yield* ClusterStatus.report(sharding, scope)
      // refs to this type's actors inside messages (a session's Join) decode on this runner
      yield* known(type, sharding, systemInternal(system))
      // the actors of each bucket here (every one present on this runner, however it was activated): an actor's
      // ref is made once per activation, dropped when it leaves
      const bucketsHere = new Map<string, { readonly actors: Map<string, ActorRef<P>>; readonly actor: Actor<P> }>()
      const waiters = new StopWatch.Waiters()
      yield* Entity.track(
        type.kind,
        (id) => bucketsHere.get(bucketOf(type, id))?.actor(id),
        (id) => {
          bucketsHere.get(bucketOf(type, id))?.actors.delete(id)
          waiters.removed(id)
        }
      )
      const bucket = Effect.gen(function* () {
        const bucketId = (yield* ClusterEntity.CurrentAddress).entityId
        const actors = new Map<string, ActorRef<P>>()
        // when the bucket leaves this runner, its actors here are passivated (their state written), within the
        // stop deadline, and the messages still coming through it are left for the next owner
        const left = new Bucket.Left()
        const actor = (id: string): ActorRef<P> => {
          let ref = actors.get(id)
          if (ref === undefined) {
            ref = Effect.runSyncWith(context)(Entity.deliveryRef(type.kind, id, left.gone))
            actors.set(id, ref)
          }
          return ref
        }
        const here = { actors, actor }
        bucketsHere.set(bucketId, here)
        yield* Effect.addFinalizer(() =>
          Effect.suspend(() => {
            left.leave()
            if (bucketsHere.get(bucketId) === here) bucketsHere.delete(bucketId)
            return Bucket.stopActors(type.kind, [...actors.keys()], stopTimeoutMillis)
          }).pipe(Effect.provideContext(context))
        )
        const handlers = Delivery.handlers(type, actor, left, handlerTimeout, context, system)
        const wake = type.wake
        if (wake !== undefined)
          handlers[StopWatch.tag] = ({ payload }) =>
            waiters.await(
              payload.id,
              (payload as unknown as { readonly millis: number }).millis,
              actor(payload.id).tell(wake)
            )
        return handlers as never
      })
      // Registered with only what the cluster needs in context: the engine merges the registration's context
      // into every request's, so a large one (the whole application's) costs on every message. The engine decodes
      // the messages it delivers here in this context: refs to sharded actors in them decode by this runner's types.
      yield* sharding
        .registerEntity(type.entity, bucket, {
          // the actors of a bucket run side by side (each handles its own messages one at a time), and a
          // bucket stays while its actors may (they passivate one by one)
          concurrency: "unbounded",
          maxIdleTime: type.options.passivateAfter ?? "2 minutes"
        })
        .pipe(
          Effect.provideContext(
            Context.make(Sharding.Sharding, sharding).pipe(
              Context.add(Scope.Scope, scope),
              Context.add(ClusterRefs, Resolver.tableOf(sharding))
            )
          )
        )
    })
  )

/**
 * Lets this process decode refs to the actors of `type` that come in replies and messages, without hosting them (a
 * runner's {@link layer} does this for the types it hosts): for a process that only sends (`clientOnly`), or a runner
 * that sends to a type others host. The refs reach their actors through this process's cluster client; over an actor
 * system, refs in messages from other nodes decode too. Without it, such a ref fails to decode (`InvalidMessage`).
 *
 * @example
 * ```ts
 * const backend = Sharded.layerClient(Tickets).pipe(
 *   Layer.provideMerge(Cluster.layerPostgres({ url: process.env.DATABASE_URL!, clientOnly: true }))
 * )
 * ```
 */
export const layerClient = <P extends Protocol.Any, R>(
  type: Sharded<P, R>
): Layer.Layer<never, never, Sharding.Sharding> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const system = yield* Effect.serviceOption(ActorSystem)
      yield* known(type, yield* Sharding.Sharding, Option.isSome(system) ? systemInternal(system.value) : undefined)
    })
  )

/** Lets refs to `type`'s actors in replies and messages decode on `sharding`'s runner or client (and `system`'s). */
const known = <P extends Protocol.Any, R>(
  type: Sharded<P, R>,
  sharding: Sharding.Sharding["Service"],
  system: Parameters<typeof Resolver.register>[3]
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.provideService(refs(type), Sharding.Sharding, sharding), (make) =>
    Resolver.register(type.name, make, sharding, system)
  )

/** The path a sharded actor's ref shows: `/cluster/<type>/<id>`. */
export const path = (type: { readonly name: string }, id: string): string => Resolver.pathOf(type.name, id)

/**
 * A ref to the actor of `type` with id `id`, wherever the cluster places it (activated on its first message).
 * Besides an actor's own failures, `tell` and `ask` fail with `ClusterUnavailable` when the cluster cannot
 * carry the message (its database down, no runner for the shard) and `InvalidMessage` when it does not
 * encode or decode with the protocol's schema.
 *
 * To a durable type: a `tell` that succeeds was stored by the cluster and is handled once, even if the runner
 * cannot write the actor's inbox now (it tries again, and the shard's next owner does if it stops); an `ask`
 * whose inbox write is refused fails with `ClusterUnavailable` `PersistenceError` and is never handled.
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
): Effect.Effect<ActorRef<P>, never, Sharding.Sharding> => Effect.map(refs(type), (refOf) => refOf(id))

/**
 * Makes refs of one type without going through the context again for each id (for callers that make many). Their
 * replies decode refs to sharded actors by the types known to the runner or client they were made on ({@link layer},
 * {@link layerClient}).
 */
export const refs = <P extends Protocol.Any, R>(
  type: Sharded<P, R>
): Effect.Effect<(id: string) => ActorRef<P>, never, Sharding.Sharding> =>
  Effect.gen(function* () {
    const table = Resolver.tableOf(yield* Sharding.Sharding)
    const clientFor = yield* type.entity.client
    return (id: string) =>
      ClusterRef.make(
        type.protocol,
        path(type, id),
        id,
        clientFor(bucketOf(type, id)) as unknown as ClusterRef.Client,
        table
      )
  })

/**
 * @internal Waits, on its runner, until the actor `id` of a type made with a `wake` message stops (or is passivated,
 * or leaves the runner): true; or, if it still runs after `millis`, false. The actor is woken first (activated, if
 * it was not active). Fails like an ask (`ClusterUnavailable`, `AskTimeout` after `timeoutMillis`).
 */
export const stopped = <P extends Protocol.Any, R>(
  type: Sharded<P, R>,
  id: string,
  millis: number,
  timeoutMillis: number
): Effect.Effect<boolean, unknown, Sharding.Sharding> =>
  Effect.flatMap(type.entity.client, (clientFor) => {
    const client = clientFor(bucketOf(type, id)) as unknown as ClusterRef.Client
    return ClusterRef.send(path(type, id), StopWatch.tag, client[StopWatch.tag]!({ id, millis }), timeoutMillis)
  }) as Effect.Effect<boolean, unknown, Sharding.Sharding>

/**
 * How many actors of a type are active on this runner now (passivated ones and other runners' excluded).
 *
 * @example
 * ```ts
 * const here = yield* Sharded.active(Tickets)
 * ```
 */
export const active = <P extends Protocol.Any, R>(type: Sharded<P, R>): Effect.Effect<number, never, ActorSystem> =>
  Entity.active(type.kind)
