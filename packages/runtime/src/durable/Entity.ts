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
import { Cause, type Context, Duration, Effect, Exit, type Schema } from "effect"
import { type ActorRef, type AskOptions, AskTimeout, RequestFailed, TypeId } from "../ActorRef.ts"
import { ActorSystem, type ActorSystemService, type SpawnError, internal as systemInternal } from "../ActorSystem.ts"
import type { Behavior } from "../Behavior.ts"
import * as Behaviors from "../Behavior.ts"
import type { ActorCell } from "../internal/cell.ts"
import type { Deadline } from "../internal/deadlines.ts"
import { localCell, type SystemImpl } from "../internal/system.ts"
import type * as Mailbox from "../Mailbox.ts"
import type { MailboxFull } from "../Mailbox.ts"
import * as Protocol from "../Protocol.ts"
import type * as Supervisor from "../Supervisor.ts"
import * as Durable from "./Durable.ts"
import * as Inbox from "./internal/inbox.ts"
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
 * handles them in the delivering call, as the transport's deliveries are, not on the next dispatch turn.
 */
export const deliveryRef = <P extends Protocol.Any, R>(
  kind: Kind<P, R>,
  id: string
): Effect.Effect<ActorRef<P>, never, ActorSystem | R> => refWith(kind, id, true)

const refWith = <P extends Protocol.Any, R>(
  kind: Kind<P, R>,
  id: string,
  inline: boolean
): Effect.Effect<ActorRef<P>, never, ActorSystem | R> =>
  Effect.gen(function* () {
    const system = systemInternal(yield* ActorSystem)
    const context = yield* Effect.context<R>()
    const region = yield* regionOf(system, kind as unknown as Kind<Protocol.Any, unknown>)
    return new EntityRef<P>(region, id, context as Context.Context<never>, inline)
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

// -----------------------------------------------------------------------------------------------------------
// The region of a kind: its entities on this node
// -----------------------------------------------------------------------------------------------------------

const regionsKey = { name: "@troupe/runtime/Entity/regions" }
const regions = (system: SystemImpl) => system.extension(regionsKey, () => new Map<string, Region>())

const regionOf = (system: SystemImpl, kind: Kind<Protocol.Any, unknown>): Effect.Effect<Region> =>
  Effect.suspend(() => {
    const table = regions(system)
    let region = table.get(kind.name)
    if (region === undefined) {
      region = new Region(system, kind)
      table.set(kind.name, region)
    }
    return region.kind === kind
      ? Effect.succeed(region)
      : Effect.die(
          new Error(
            `Two entity kinds are named ${JSON.stringify(kind.name)} in this actor system: make each kind once (Entity.make) and give kinds distinct names`
          )
        )
  })

const RegionProtocol = Protocol.make("EntityRegion", {})

interface Entry {
  cell: ActorCell | undefined
  state: "starting" | "live" | "passivating"
  /** Senders waiting for the entity to be live again. */
  waiting: Array<(cell: Exit.Exit<ActorCell, string>) => void>
  lastActive: number
  deadline: Deadline | undefined
}

const encoder = new TextEncoder()

/** Entity ids become actor names: characters outside the allowed set are escaped as `~XX` (UTF-8, hex). */
const escapeId = (id: string): string =>
  id.length === 0
    ? "~"
    : id.replace(/[^A-Za-z0-9_.@:+=-]/gu, (c) =>
        [...encoder.encode(c)].map((b) => `~${b.toString(16).toUpperCase().padStart(2, "0")}`).join("")
      )

class Region {
  readonly entries = new Map<string, Entry>()
  live = 0
  private parent: ActorCell | undefined
  private parentStarting: Promise<ActorCell> | undefined
  readonly system: SystemImpl
  readonly kind: Kind<Protocol.Any, unknown>

  constructor(system: SystemImpl, kind: Kind<Protocol.Any, unknown>) {
    this.system = system
    this.kind = kind
  }

  /** The entity's cell if it is live now (and marks it active). */
  private liveCell(id: string): ActorCell | undefined {
    const entry = this.entries.get(id)
    if (entry?.state !== "live" || entry.cell === undefined || entry.cell.isTerminated) return undefined
    entry.lastActive = this.system.deadlines.now()
    return entry.cell
  }

  /** Calls `listener` once the entity is live again (spawning it if it is not there), or could not start. */
  private whenLive(
    id: string,
    context: Context.Context<never>,
    listener: (exit: Exit.Exit<ActorCell, string>) => void
  ) {
    let entry = this.entries.get(id)
    if (entry === undefined) {
      entry = { cell: undefined, state: "starting", waiting: [], lastActive: 0, deadline: undefined }
      this.entries.set(id, entry)
      this.start(id, entry, context)
    }
    entry.waiting.push(listener)
  }

  /**
   * Tells the entity: into the live cell's mailbox in the same step as the check that it is live (so a
   * passivation that starts meanwhile cannot drop it), or once it is live again.
   */
  tell(id: string, context: Context.Context<never>, message: { readonly _tag: string }, path: string, inline = false) {
    const attempt: Effect.Effect<void, MailboxFull> = Effect.withFiber((fiber) => {
      const cell = this.liveCell(id)
      if (cell !== undefined) return cell.tell(message, fiber, inline)
      return Effect.flatMap(
        Effect.callback<Exit.Exit<ActorCell, string>>((resume) =>
          this.whenLive(id, context, (exit) => resume(Effect.succeed(exit)))
        ),
        (exit) =>
          Exit.isSuccess(exit)
            ? attempt
            : // why the entity could not start is in the log; the message is a dead letter
              Effect.sync(() => this.system.deadLetter(path, message, "terminated"))
      )
    })
    return attempt
  }

  /** Asks the entity, with the same guarantee as {@link tell}; the deadline counts from now. */
  ask(
    id: string,
    context: Context.Context<never>,
    message: { readonly _tag: string },
    path: string,
    timeoutMillis: number,
    inline = false
  ) {
    return Effect.withFiber((fiber) =>
      Effect.callback<unknown, unknown>((resume) => {
        const deadlines = this.system.deadlines
        const until = deadlines.now() + timeoutMillis
        let cancel: Effect.Effect<void> | undefined
        let gone = false
        const attempt = () => {
          if (gone) return
          const cell = this.liveCell(id)
          if (cell === undefined) {
            this.whenLive(id, context, (exit) => {
              if (Exit.isSuccess(exit)) return attempt()
              resume(
                Effect.fail(
                  new RequestFailed({
                    recipient: path,
                    tag: message._tag,
                    cause: `the entity could not start: ${Cause.pretty(exit.cause)}`
                  })
                )
              )
            })
            return
          }
          const left = until - deadlines.now()
          if (left <= 0) {
            resume(Effect.fail(new AskTimeout({ recipient: path, tag: message._tag, timeoutMillis })))
            return
          }
          cancel = cell.askNow(message, fiber, left, resume, inline)
        }
        attempt()
        return Effect.suspend(() => {
          gone = true
          return cancel ?? Effect.void
        })
      })
    )
  }

  private start(id: string, entry: Entry, context: Context.Context<never>): void {
    entry.state = "starting"
    const spawn = Effect.flatMap(
      Effect.promise(() => this.parentCell()),
      (parent) =>
        this.system.spawn(parent, this.kind.behavior(id), {
          name: escapeId(id),
          restart: this.kind.restart,
          ...(this.kind.mailbox === undefined ? {} : { mailbox: this.kind.mailbox }),
          ...(this.kind.shutdownTimeout === undefined ? {} : { shutdownTimeout: this.kind.shutdownTimeout })
        }) as Effect.Effect<ActorRef<Protocol.Any>, SpawnError>
    )
    Effect.runForkWith(context)(spawn).addObserver((result) => {
      const waiting = entry.waiting
      entry.waiting = []
      if (Exit.isFailure(result)) {
        this.entries.delete(id)
        const reason = Cause.pretty(result.cause)
        for (const resume of waiting) resume(Exit.fail(reason))
        this.system.runBackground(
          Effect.logError("Could not start an entity", result.cause).pipe(
            Effect.annotateLogs({ kind: this.kind.name, entity: id })
          )
        )
        return
      }
      const cell = localCell(result.value)!
      entry.cell = cell
      entry.state = "live"
      entry.lastActive = this.system.deadlines.now()
      this.live++
      cell.onTermination(() => this.terminated(id, entry, context))
      this.schedulePassivation(id, entry)
      for (const resume of waiting) resume(Exit.succeed(cell))
    })
  }

  private terminated(id: string, entry: Entry, context: Context.Context<never>): void {
    this.live--
    if (entry.deadline !== undefined) this.system.deadlines.cancel(entry.deadline)
    entry.deadline = undefined
    entry.cell = undefined
    if (entry.waiting.length > 0) this.start(id, entry, context)
    else if (this.entries.get(id) === entry) this.entries.delete(id)
  }

  private schedulePassivation(id: string, entry: Entry): void {
    const idle = this.kind.passivateAfterMillis
    if (idle === undefined) return
    const deadlines = this.system.deadlines
    entry.deadline = deadlines.schedule(entry.lastActive + idle, () => {
      entry.deadline = undefined
      if (entry.state !== "live" || entry.cell === undefined) return
      if (!entry.cell.isQuiet) entry.lastActive = deadlines.now()
      if (deadlines.now() - entry.lastActive < idle) return this.schedulePassivation(id, entry)
      // from here on, senders wait for the next incarnation
      entry.state = "passivating"
      this.system.runBackground(this.system.stop(entry.cell.ref))
    })
  }

  /** Stops a live entity now (see {@link passivate}). */
  passivate(entry: Entry): Effect.Effect<void> {
    return Effect.suspend(() => {
      const cell = entry.cell
      if (cell === undefined || entry.state !== "live") return Effect.void
      entry.state = "passivating"
      return this.system.stop(cell.ref)
    })
  }

  private parentCell(): Promise<ActorCell> {
    if (this.parent !== undefined && !this.parent.isTerminated) return Promise.resolve(this.parent)
    this.parentStarting ??= Effect.runPromise(
      this.system
        .spawn(
          this.system.guardian,
          Behaviors.make(RegionProtocol, {
            initial: undefined,
            receive: {},
            ...(this.kind.supervision === undefined ? {} : { supervision: this.kind.supervision })
          }),
          { name: this.kind.name, restart: "permanent" }
        )
        .pipe(
          Effect.map((ref) => {
            this.parent = localCell(ref)!
            this.parentStarting = undefined
            return this.parent
          })
        )
    )
    return this.parentStarting
  }
}

/** A ref to an entity by (kind, id): spawns it when needed. */
class EntityRef<P extends Protocol.Any> implements ActorRef<P> {
  readonly [TypeId]: typeof TypeId = TypeId
  /** Where durable messages to it go (a durable kind's entities only). */
  readonly [Durable.TargetKey]: Inbox.Target | undefined
  private readonly region: Region
  private readonly id: string
  private readonly context: Context.Context<never>
  private readonly inline: boolean
  readonly path: string
  constructor(region: Region, id: string, context: Context.Context<never>, inline = false) {
    this.region = region
    this.id = id
    this.context = context
    this.inline = inline
    this.path = path(region.kind, id)
    this[Durable.TargetKey] = region.kind.durable
      ? {
          persistenceId: persistenceId(region.kind, id),
          path: this.path,
          protocol: region.kind.protocol,
          system: region.system,
          poke: region.tell(id, context, Inbox.poke, this.path).pipe(Effect.catchCause(() => Effect.void))
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
    return this.region.tell(this.id, this.context, message as { readonly _tag: string }, this.path, this.inline)
  }
  ask<M extends Protocol.Request<P>>(message: M, options?: AskOptions) {
    const timeoutMillis =
      options?.timeout === undefined ? this.region.system.askTimeoutMillis : Duration.toMillis(options.timeout)
    return this.region.ask(
      this.id,
      this.context,
      message as unknown as { _tag: string },
      this.path,
      timeoutMillis,
      this.inline
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
