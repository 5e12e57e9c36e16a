/**
 * Entities: actors addressed by a stable id, spawned on their first message and passivated when idle.
 *
 * An entity kind says how to make the actor for an id (a behaviour, durable when the kind has a `state`
 * schema, under the persistence id `<kind>/<id>`). {@link ref} gives a ref to the entity of an id whether it
 * runs or not: its first message spawns it (from its stored state, if any), an entity idle for
 * `passivateAfter` is stopped (its last state written, its memory returned), and the next message brings it
 * back. Messages that arrive while it is being passivated wait and are delivered to the next incarnation.
 * One backend process can so keep one agent per user or per conversation, with only the active ones in
 * memory.
 *
 * Entities live under `/user/<kind>/<id>`, supervised by their kind (restarted after a failure, from their
 * stored state when durable). Address them by `Entity.ref`; the entity's own `ctx.self` is the current
 * incarnation only.
 *
 * @example
 * ```ts
 * const Carts = Entity.make("cart", {
 *   behavior: (id) => cartBehavior(id),
 *   state: Cart,
 *   passivateAfter: "5 minutes"
 * })
 * const cart = yield* Entity.ref(Carts, "customer-42")
 * yield* cart.tell(CartProtocol.Add({ sku: "tea" }))
 * ```
 */
import { type Context, Duration, Effect, Schema } from "effect"
import { type ActorRef, type AskOptions, TypeId } from "../ActorRef.ts"
import { ActorSystem, type ActorSystemService, type SpawnError, internal as systemInternal } from "../ActorSystem.ts"
import type { Behavior } from "../Behavior.ts"
import { badDuration } from "../Durations.ts"
import { askTimeoutMillis } from "../internal/askDeadline.ts"
import type * as Mailbox from "../Mailbox.ts"
import type { MailboxFull } from "../Mailbox.ts"
import type * as Protocol from "../Protocol.ts"
import type * as Supervisor from "../Supervisor.ts"
import * as Durable from "./Durable.ts"
import { badDurableOptions } from "./internal/errors.ts"
import * as Inbox from "./internal/inbox.ts"
import { escapeId, type Gone, type Region, regionOf, regions } from "./internal/region.ts"
import type { Storage } from "./Storage.ts"

/** A kind of entity: its name, its protocol, and how the entity of an id is made and kept. */
export interface Kind<P extends Protocol.Any, R> {
  readonly name: string
  readonly protocol: P
  /** The behaviour of the entity of `id` (durable under `<kind>/<id>` when the kind has a `state`). */
  readonly behavior: (id: string) => Behavior<P, unknown, R>
  /** How long an entity may be idle (nothing to handle) before it is passivated; `undefined`: never. */
  readonly passivateAfterMillis: number | undefined
  readonly mailbox: Mailbox.Config | undefined
  readonly supervision: Supervisor.Strategy | undefined
  /** When the kind restarts a failed entity (`"transient"`: after failures only). */
  readonly restart: Supervisor.RestartPolicy
  /** How long an entity may take to finish its current message when stopped. */
  readonly shutdownTimeout: Duration.Input | undefined
  /** Whether its entities' states are stored (the kind has a `state`); only these take durable messages. */
  readonly durable: boolean
}

/** Options of a durable kind: those of {@link make}, and how the state is stored. */
export interface DurableOptions<P extends Protocol.Any, S, R, I> extends MakeOptions<P, S, R> {
  /**
   * How the entity's state is stored: the entity is durable under the persistence id `<kind>/<id>` (see
   * `Durable.persistent`). Without it (see {@link MakeOptions}), passivation forgets the state.
   */
  readonly state: Schema.Codec<S, I>
}

/** Options of {@link make}. */
export interface MakeOptions<P extends Protocol.Any, S, R> {
  /** The behaviour of the entity of an id. */
  readonly behavior: (id: string) => Behavior<P, S, R>
  /** The version of the stored state, when the kind is durable (see `Durable.Options`). */
  readonly version?: number
  /** Migrations of stored states, when the kind is durable (see `Durable.Options`). */
  readonly migrations?: { readonly [from: number]: (stored: unknown) => unknown }
  /** Idle time before an entity is passivated. Default 2 minutes; `"never"` keeps entities until stopped. */
  readonly passivateAfter?: Duration.Input | "never"
  /** The entities' mailbox (the system's default otherwise). */
  readonly mailbox?: Mailbox.Config
  /** How the kind supervises its entities (restart on failure by default). */
  readonly supervision?: Supervisor.Strategy
  /** When a failed entity is restarted: `"transient"` (after failures only, the default) or `"temporary"` (never). */
  readonly restart?: Supervisor.RestartPolicy
  /** How long an entity may take to finish its current message when stopped, before it is interrupted. */
  readonly shutdownTimeout?: Duration.Input
}

/**
 * Makes an entity kind: durable (its entities' states stored under `<kind>/<id>`) when `state` is given.
 * The name is the first segment of the entities' paths and persistence ids.
 *
 * @example
 * ```ts
 * const Support = Entity.make("support", Agent.Protocol, {
 *   behavior: (customer) => Agent.make({ name: `support for ${customer}`, system: "You help customers." }),
 *   state: Agent.Transcript,
 *   passivateAfter: "10 minutes"
 * })
 * ```
 */
export const make: {
  <P extends Protocol.Any, S, R, I>(
    name: string,
    protocol: P,
    options: DurableOptions<P, S, R, I>
  ): Kind<P, R | Storage>
  <P extends Protocol.Any, S, R>(name: string, protocol: P, options: MakeOptions<P, S, R>): Kind<P, R>
} = (
  name: string,
  protocol: Protocol.Any,
  options: MakeOptions<Protocol.Any, unknown, unknown> & { readonly state?: Schema.Codec<unknown, unknown> }
): Kind<Protocol.Any, unknown> => {
  const bad = badDuration([
    ["passivateAfter", options.passivateAfter === "never" ? undefined : options.passivateAfter],
    ["shutdownTimeout", options.shutdownTimeout]
  ])
  if (bad !== undefined) throw new InvalidEntityOptions({ kind: name, ...bad })
  // (a durable kind's version and migrations: checked here, not at each entity's first message)
  const durable =
    options.state === undefined
      ? undefined
      : badDurableOptions({ id: name, version: options.version, migrations: options.migrations })
  if (durable !== undefined) throw new InvalidEntityOptions({ kind: name, ...durable })
  const { state } = options
  const behavior =
    state === undefined
      ? options.behavior
      : (id: string) =>
          Durable.persistent(options.behavior(id), {
            id: `${name}/${id}`,
            state,
            ...(options.version === undefined ? {} : { version: options.version }),
            ...(options.migrations === undefined ? {} : { migrations: options.migrations })
          }) as unknown as Behavior<Protocol.Any, unknown, unknown>
  const after = options.passivateAfter ?? "2 minutes"
  return {
    name,
    protocol,
    behavior,
    passivateAfterMillis: after === "never" ? undefined : Duration.toMillis(after),
    mailbox: options.mailbox,
    supervision: options.supervision,
    restart: options.restart ?? "transient",
    shutdownTimeout: options.shutdownTimeout,
    durable: state !== undefined
  }
}

/**
 * An option of an entity kind has a value it cannot take (from plain JavaScript or a config file): thrown by
 * {@link make}, naming the option and what it may be.
 *
 * @example
 * ```ts
 * Entity.make("Cart", Cart, { behavior: cart, passivateAfter: "10 min" }) // throws InvalidEntityOptions
 * ```
 */
export class InvalidEntityOptions extends Schema.TaggedError<InvalidEntityOptions>()("InvalidEntityOptions", {
  kind: Schema.String,
  option: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The entity kind ${this.kind}'s option ${this.option} ${this.detail}`
  }
}

/** The persistence id of the entity `id` of a kind (where a durable entity's state is stored). */
export const persistenceId = <P extends Protocol.Any, R>(kind: Kind<P, R>, id: string): string => `${kind.name}/${id}`

/**
 * The path of the entity `id` of a kind: `/user/<kind>/<id>`, where characters actor names do not allow are
 * written `~XX` (UTF-8, hex).
 *
 * @example
 * ```ts
 * Entity.path(Carts, "customer/42") // "/user/cart/customer~2F42"
 * ```
 */
export const path = <P extends Protocol.Any, R>(kind: Kind<P, R>, id: string): string =>
  `/user/${kind.name}/${escapeId(id)}`

/**
 * A ref to the entity `id` of `kind`: valid whether the entity runs or not (its next message spawns it).
 *
 * @example
 * ```ts
 * const cart = yield* Entity.ref(Carts, "customer-42")
 * const items = yield* cart.ask(CartProtocol.Items(), { timeout: "1 second" })
 * ```
 */
export const ref = <P extends Protocol.Any, R>(
  kind: Kind<P, R>,
  id: string
): Effect.Effect<ActorRef<P>, never, ActorSystem | R> => refWith(kind, id, false)

/**
 * @internal A ref for messages that arrive from outside this node (the cluster's deliveries): an idle entity
 * handles them in the delivering call, as the transport's deliveries are, not on the next dispatch turn. Once
 * `gone` says so (the bucket they came through left this node), its messages reach no incarnation here.
 */
export const deliveryRef = <P extends Protocol.Any, R>(
  kind: Kind<P, R>,
  id: string,
  gone?: Gone
): Effect.Effect<ActorRef<P>, never, ActorSystem | R> => refWith(kind, id, true, gone)

const refWith = <P extends Protocol.Any, R>(
  kind: Kind<P, R>,
  id: string,
  inline: boolean,
  gone?: Gone
): Effect.Effect<ActorRef<P>, never, ActorSystem | R> =>
  Effect.gen(function* () {
    const system = systemInternal(yield* ActorSystem)
    const context = yield* Effect.context<R>()
    const region = yield* regionOf(system, kind as unknown as Kind<Protocol.Any, unknown>)
    return new EntityRef<P>(region, id, context as Context.Context<never>, inline, gone)
  })

/** Stops the entity `id` now if it runs (it writes its last state first); its next message brings it back. */
export const passivate = <P extends Protocol.Any, R>(
  kind: Kind<P, R>,
  id: string
): Effect.Effect<void, never, ActorSystem> =>
  Effect.gen(function* () {
    const region = regions(systemInternal(yield* ActorSystem)).get(kind.name)
    const entry = region?.entries.get(id)
    if (region === undefined || entry?.cell === undefined || entry.state !== "live") return
    yield* region.passivate(entry)
  })

/**
 * @internal Stops the entities `ids` of a kind on this node, whether they run, start or are being passivated, and
 * waits until they have stopped (see `Region.leave`).
 */
export const leave = <P extends Protocol.Any, R>(
  kind: Kind<P, R>,
  ids: Iterable<string>
): Effect.Effect<void, never, ActorSystem> =>
  Effect.gen(function* () {
    const region = regions(systemInternal(yield* ActorSystem)).get(kind.name)
    if (region === undefined) return
    yield* Effect.forEach(ids, (id) => region.leave(id), { concurrency: "unbounded", discard: true })
  })

/** @internal Which of the entities `ids` of a kind are on this node, whatever their state. */
export const present = <P extends Protocol.Any, R>(
  kind: Kind<P, R>,
  ids: Iterable<string>
): Effect.Effect<ReadonlyArray<string>, never, ActorSystem> =>
  ActorSystem.use((system) =>
    Effect.sync(() => {
      const entries = regions(systemInternal(system)).get(kind.name)?.entries
      return entries === undefined ? [] : [...ids].filter((id) => entries.has(id))
    })
  )

/** How many entities of a kind run now (passivated ones excluded). */
export const active = <P extends Protocol.Any, R>(kind: Kind<P, R>): Effect.Effect<number, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => regions(systemInternal(system)).get(kind.name)?.live ?? 0))

/**
 * The ids of the entities of a kind that run now (passivated ones excluded).
 *
 * @example
 * ```ts
 * const customers = yield* Entity.ids(Support)
 * ```
 */
export const ids = <P extends Protocol.Any, R>(
  kind: Kind<P, R>
): Effect.Effect<ReadonlyArray<string>, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => idsUnsafe(system, kind)))

/** @internal {@link ids}, synchronously. */
export const idsUnsafe = <P extends Protocol.Any, R>(
  system: ActorSystemService,
  kind: Kind<P, R>
): ReadonlyArray<string> => {
  const entries = regions(systemInternal(system)).get(kind.name)?.entries
  return entries === undefined
    ? []
    : [...entries].filter(([, entry]) => entry.state === "live" && entry.cell !== undefined).map(([id]) => id)
}

/**
 * @internal Calls `added` with the id of each entity of the kind that comes to this node (is spawned where it was
 * not), `removed` with each that leaves it (one pair of listeners a kind).
 */
export const track = <P extends Protocol.Any, R>(
  kind: Kind<P, R>,
  added: (id: string) => void,
  removed: (id: string) => void
): Effect.Effect<void, never, ActorSystem> =>
  Effect.gen(function* () {
    const region = yield* regionOf(systemInternal(yield* ActorSystem), kind as unknown as Kind<Protocol.Any, unknown>)
    region.onAdded = added
    region.onRemoved = removed
  })

/** A ref to an entity by (kind, id): spawns it when needed. */
class EntityRef<P extends Protocol.Any> implements ActorRef<P> {
  readonly [TypeId]: typeof TypeId = TypeId
  /** Where durable messages to it go (a durable kind's entities only). */
  readonly [Durable.TargetKey]: Inbox.Target | undefined
  private readonly region: Region
  private readonly id: string
  private readonly context: Context.Context<never>
  private readonly inline: boolean
  private readonly gone: Gone | undefined
  readonly path: string
  constructor(region: Region, id: string, context: Context.Context<never>, inline = false, gone?: Gone) {
    this.region = region
    this.id = id
    this.context = context
    this.inline = inline
    this.gone = gone
    this.path = path(region.kind, id)
    this[Durable.TargetKey] = region.kind.durable
      ? {
          persistenceId: persistenceId(region.kind, id),
          path: this.path,
          protocol: region.kind.protocol,
          system: region.system,
          poke: region.tell(id, context, Inbox.poke, this.path, false, gone).pipe(Effect.catchCause(() => Effect.void))
        }
      : undefined
  }
  get protocol(): P {
    return this.region.kind.protocol as P
  }
  get name(): string {
    return escapeId(this.id)
  }
  get node(): string {
    return this.region.system.node
  }
  tell(message: Protocol.Message<P>): Effect.Effect<void, MailboxFull> {
    return this.region.tell(
      this.id,
      this.context,
      message as { readonly _tag: string },
      this.path,
      this.inline,
      this.gone
    )
  }
  ask<M extends Protocol.Request<P>>(message: M, options?: AskOptions) {
    const timeoutMillis = askTimeoutMillis(
      options?.timeout,
      this.region.system.askTimeoutMillis,
      this.path,
      (message as { readonly _tag: string })._tag
    )
    if (typeof timeoutMillis !== "number") return Effect.fail(timeoutMillis) as never
    return this.region.ask(
      this.id,
      this.context,
      message as unknown as { _tag: string },
      this.path,
      timeoutMillis,
      this.inline,
      this.gone
    ) as never
  }
  toString(): string {
    return `EntityRef(${this.path})`
  }
  toJSON(): unknown {
    return { _id: "ActorRef", node: this.node, path: this.path }
  }
}

export type { SpawnError }
