/**
 * The region of an entity kind: its entities on this node (see `Entity`). A message to an entity goes into
 * its live cell's mailbox in the same step as the check that it is live; otherwise it waits while the entity
 * is spawned (or passivated and spawned again). Idle entities are passivated on a deadline.
 */
import { Cause, type Context, Effect, Exit } from "effect"
import { type ActorRef, AskTimeout, RequestFailed } from "../../ActorRef.ts"
import type { SpawnError } from "../../ActorSystem.ts"
import * as Behaviors from "../../Behavior.ts"
import type { ActorCell } from "../../internal/cell.ts"
import type { Deadline } from "../../internal/deadlines.ts"
import { localCell, type SystemImpl } from "../../internal/system.ts"
import type { MailboxFull } from "../../Mailbox.ts"
import * as Protocol from "../../Protocol.ts"
import type { Kind } from "../Entity.ts"

const regionsKey = { name: "@troupe/runtime/Entity/regions" }
/** The regions of a system, by kind name. */
export const regions = (system: SystemImpl) => system.extension(regionsKey, () => new Map<string, Region>())

/** The region of a kind in a system, made on first use; two kinds of one name are a defect. */
export const regionOf = (system: SystemImpl, kind: Kind<Protocol.Any, unknown>): Effect.Effect<Region> =>
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

/**
 * Where a sender's messages came from has left this node (a cluster bucket that moved or stopped): while `now()`
 * is true its messages reach no incarnation of the entity here (none is spawned for them); the sender runs
 * `refuse` instead (the cluster then keeps the message for the bucket's next owner).
 */
export interface Gone {
  readonly now: () => boolean
  readonly refuse: Effect.Effect<never>
}

/** Why a waiting sender was not given a cell: the entity could not start (the cause), or its sender is gone. */
const GONE = "gone"

/** A sender waiting for the entity to be live again. */
interface Waiter {
  readonly resume: (cell: Exit.Exit<ActorCell, string>) => void
  readonly gone: Gone | undefined
}

/** An entity of a region: its cell while it runs, and the senders waiting for it. */
export interface Entry {
  cell: ActorCell | undefined
  state: "starting" | "live" | "passivating"
  /** Senders waiting for the entity to be live again. */
  waiting: Array<Waiter>
  lastActive: number
  deadline: Deadline | undefined
}

const encoder = new TextEncoder()

/** Entity ids become actor names: characters outside the allowed set are escaped as `~XX` (UTF-8, hex). */
export const escapeId = (id: string): string =>
  id.length === 0
    ? "~"
    : id.replace(/[^A-Za-z0-9_.@:+=-]/gu, (c) =>
        [...encoder.encode(c)].map((b) => `~${b.toString(16).toUpperCase().padStart(2, "0")}`).join("")
      )

/** The entities of one kind on this node: spawned on demand under their kind's actor, passivated when idle. */
export class Region {
  readonly entries = new Map<string, Entry>()
  live = 0
  /** Told the id of each entity that leaves this node (passivated, stopped, or could not start). */
  onRemoved: ((id: string) => void) | undefined = undefined
  /** Told the id of each entity that comes to this node (is being spawned where it was not). */
  onAdded: ((id: string) => void) | undefined = undefined
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

  /**
   * Calls `listener` once the entity is live again (spawning it if it is not there), or could not start, or
   * (`GONE`) at once or when it stops, if the sender is gone: no incarnation is spawned for a gone sender.
   */
  private whenLive(
    id: string,
    context: Context.Context<never>,
    listener: (exit: Exit.Exit<ActorCell, string>) => void,
    gone: Gone | undefined
  ) {
    if (gone?.now()) return listener(Exit.fail(GONE))
    let entry = this.entries.get(id)
    if (entry === undefined) {
      entry = { cell: undefined, state: "starting", waiting: [], lastActive: 0, deadline: undefined }
      this.entries.set(id, entry)
      this.onAdded?.(id)
      this.start(id, entry, context)
    }
    entry.waiting.push({ resume: listener, gone })
  }

  /**
   * Tells the entity: into the live cell's mailbox in the same step as the check that it is live (so a
   * passivation that starts meanwhile cannot drop it), or once it is live again.
   */
  tell(
    id: string,
    context: Context.Context<never>,
    message: { readonly _tag: string },
    path: string,
    inline = false,
    gone?: Gone
  ) {
    const attempt: Effect.Effect<void, MailboxFull> = Effect.withFiber((fiber) => {
      if (gone?.now()) return gone.refuse
      const cell = this.liveCell(id)
      if (cell !== undefined) return cell.tell(message, fiber, inline)
      return Effect.flatMap(
        Effect.callback<Exit.Exit<ActorCell, string>>((resume) =>
          this.whenLive(id, context, (exit) => resume(Effect.succeed(exit)), gone)
        ),
        (exit) =>
          Exit.isSuccess(exit)
            ? attempt
            : gone?.now()
              ? gone.refuse
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
    inline = false,
    gone?: Gone
  ) {
    return Effect.withFiber((fiber) =>
      Effect.callback<unknown, unknown>((resume) => {
        const deadlines = this.system.deadlines
        const until = deadlines.now() + timeoutMillis
        let cancel: Effect.Effect<void> | undefined
        let cancelled = false
        const attempt = () => {
          if (cancelled) return
          if (gone?.now()) return resume(gone.refuse)
          const cell = this.liveCell(id)
          if (cell === undefined) {
            this.whenLive(
              id,
              context,
              (exit) => {
                if (Exit.isSuccess(exit) || gone?.now()) return attempt()
                resume(
                  Effect.fail(
                    new RequestFailed({
                      recipient: path,
                      tag: message._tag,
                      cause: `the entity could not start: ${Cause.pretty(exit.cause)}`
                    })
                  )
                )
              },
              gone
            )
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
          cancelled = true
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
        this.onRemoved?.(id)
        const reason = Cause.pretty(result.cause)
        for (const waiter of waiting) waiter.resume(Exit.fail(reason))
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
      for (const waiter of waiting) waiter.resume(Exit.succeed(cell))
    })
  }

  private terminated(id: string, entry: Entry, context: Context.Context<never>): void {
    this.live--
    if (entry.deadline !== undefined) this.system.deadlines.cancel(entry.deadline)
    entry.deadline = undefined
    entry.cell = undefined
    // senders that are gone meanwhile are told so: no incarnation is started for them
    const waiting = entry.waiting
    entry.waiting = waiting.filter((waiter) => !waiter.gone?.now())
    for (const waiter of waiting) if (waiter.gone?.now()) waiter.resume(Exit.fail(GONE))
    if (entry.waiting.length > 0) this.start(id, entry, context)
    else if (this.entries.get(id) === entry) {
      this.entries.delete(id)
      this.onRemoved?.(id)
    }
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

  /**
   * Stops the entity `id` on this node, whether it runs, starts or is being passivated, and waits until it has
   * stopped: for an entity whose messages now go elsewhere (its cluster bucket left this node).
   */
  leave(id: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      const entry = this.entries.get(id)
      if (entry === undefined) return Effect.void
      const cell = entry.cell
      if (cell !== undefined) return entry.state === "live" ? this.passivate(entry) : this.system.stop(cell.ref)
      // starting: stopped once it is live
      return Effect.callback<void>((resume) => {
        entry.waiting.push({
          resume: (exit) => resume(Exit.isSuccess(exit) ? this.leave(id) : Effect.void),
          gone: undefined
        })
      })
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
