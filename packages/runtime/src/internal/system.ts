/**
 * The actor system's internals: the registry, the root guardian, spawning, stopping, death watch, dead
 * letters, system events, metrics, the receptionist's and topics' tables; its shutdown is `shutdown.ts`.
 */
import { Cause, type Clock, Context, Duration, Effect, Metric, Scheduler, type Scope, type Stream } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import type { ActorSystemService, SpawnOptions } from "../ActorSystem.ts"
import { InvalidName, NameTaken, SpawnFailed, SystemShuttingDown } from "../ActorSystem.ts"
import type { Behavior } from "../Behavior.ts"
import { badDuration } from "../Durations.ts"
import * as Protocol from "../Protocol.ts"
import * as Supervisor from "../Supervisor.ts"
import * as SystemEvent from "../SystemEvent.ts"
import * as Terminated from "../Terminated.ts"
import { ActorCell, type CellOptions, CurrentActor } from "./cell.ts"
import { Deadlines } from "./deadlines.ts"
import { Deque } from "./deque.ts"
import { Directory } from "./directory.ts"
import { EventStream } from "./eventStream.ts"
import { LocalActorRef } from "./localRef.ts"
import { type DepthHistogram, depthHistogram } from "./mailboxDepth.ts"
import { RemoteActorRef, type Remoting } from "./remoting.ts"
import { Shutdown } from "./shutdown.ts"
import type { Settings } from "./systemOptions.ts"

const messagesHandled = Metric.counter("troupe_actor_messages_total", {
  description: "Messages handled by actors",
  incremental: true
})
const failures = Metric.counter("troupe_actor_failures_total", { description: "Actor failures", incremental: true })
const restarts = Metric.counter("troupe_actor_restarts_total", { description: "Actor restarts", incremental: true })
const deadLetters = Metric.counter("troupe_dead_letters_total", { description: "Dead letters", incremental: true })
const GuardianProtocol = Protocol.make("Guardian", {})

const validName = /^[A-Za-z0-9_.~@:+=-][A-Za-z0-9_.~@:+=$-]*$/

export class SystemImpl {
  readonly registry = new Map<string, ActorCell>()
  readonly guardian: ActorCell
  readonly deadlines: Deadlines
  /** The event stream (`events.subscribers.size` says whether anyone listens). */
  readonly events: EventStream = new EventStream()
  /** Service keys → actors, spanning nodes. */
  readonly receptionist: Directory = new Directory(this)
  /** Topics → subscribers, spanning nodes. */
  readonly topics: Directory = new Directory(this)
  /** Actors of other nodes, when the system has a transport. */
  remoting: Remoting | undefined = undefined
  /** The public face, set by ActorSystem.make. */
  service!: ActorSystemService
  deadLetterCount = 0
  /** Actors draining their mailbox right now (woken, or with a drain fiber). */
  running = 0
  /** Actors woken since the last dispatch turn, in order; see {@link wake}. */
  private readonly ready = new Deque<ActorCell>()
  private dispatcher: Scheduler.SchedulerDispatcher | undefined
  private dispatchScheduled = false
  private readonly extensions = new Map<object, unknown>()
  private handledSinceFlush = 0
  /**
   * Messages handled per flush of the count into the metric: 1 at first, doubling up to 1,024, so the flush's branch
   * runs a few times (V8 records feedback only from a function's ~8th call on) before `countHandled` is compiled:
   * otherwise the compiled code met the branch first at message 1,024 and was thrown away there (a deopt and a
   * recompile in the cold window of a remote ask's round trip).
   */
  private flushEvery = 1
  private depths: DepthHistogram | undefined
  /** The shutdown sequence and those told of its end (see `shutdown.ts`). */
  private readonly shutdownOnce: Shutdown

  readonly settings: Settings
  /** The options of actors spawned without any, shared by all of them. */
  private readonly defaultCellOptions: CellOptions
  /** The services of whoever made the system; background work runs with them. */
  readonly context: Context.Context<never>

  constructor(settings: Settings, clock: Clock.Clock, context: Context.Context<never>) {
    this.settings = settings
    this.context = context
    this.defaultCellOptions = {
      mailbox: settings.mailbox,
      restart: "transient",
      shutdownTimeoutMillis: settings.shutdownTimeoutMillis
    }
    const fork = Effect.runForkWith(context)
    this.deadlines = new Deadlines(clock, (effect) => fork(effect))
    this.guardian = ActorCell.guardian(this, GuardianProtocol)
    this.shutdownOnce = new Shutdown(
      Effect.suspend(() => Effect.andThen(this.guardian.freeze(), this.guardian.stopTree(Terminated.stopped))),
      () => {
        this.flushHandled()
        this.deadlines.close()
      }
    )
  }

  /** Per-system state of a module (receptionist, topics, remoting), made on first use. */
  extension<A>(key: object, make: () => A): A {
    let value = this.extensions.get(key) as A | undefined
    if (value === undefined) {
      value = make()
      this.extensions.set(key, value)
    }
    return value
  }

  get node(): string {
    return this.settings.node
  }
  get askTimeoutMillis(): number {
    return this.settings.askTimeoutMillis
  }
  get tracing(): boolean {
    return this.settings.tracing
  }
  get defaultStrategy(): Supervisor.Strategy {
    return Supervisor.defaultStrategy
  }

  // ------------------------------------------------------------------------------------------------------
  // Events, dead letters, metrics
  // ------------------------------------------------------------------------------------------------------

  publish(event: SystemEvent.SystemEvent): void {
    this.events.publish(event)
  }

  deadLetter(recipient: string, message: { readonly _tag: string }, reason: SystemEvent.DeadLetterReason): void {
    this.deadLetterCount++
    deadLetters.updateUnsafe(1, this.context)
    this.publish(new SystemEvent.DeadLetter({ recipient, tag: message._tag, reason, message }))
  }

  logDefect(path: string, cause: Cause.Cause<unknown>): void {
    this.runBackground(Effect.logError("Actor runtime defect", cause).pipe(Effect.annotateLogs({ actor: path })))
  }

  countHandled(): void {
    if (++this.handledSinceFlush >= this.flushEvery) this.flushHandled()
  }

  flushHandled(): void {
    if (this.handledSinceFlush === 0) return
    messagesHandled.updateUnsafe(this.handledSinceFlush, this.context)
    this.handledSinceFlush = 0
    if (this.flushEvery < 1024) this.flushEvery *= 2
  }

  countFailure(): void {
    failures.updateUnsafe(1, this.context)
  }

  countRestart(): void {
    restarts.updateUnsafe(1, this.context)
  }

  /** The mailbox depth when an actor starts handling messages. */
  sampleDepth(depth: number): void {
    ;(this.depths ??= depthHistogram(this.context)).record(depth)
  }

  /**
   * Has a woken actor drain its mailbox on the next dispatch turn: one scheduler task serves every actor
   * woken before it (a fiber of its own per wake would cost a fiber and a scheduler turn each).
   */
  wake(cell: ActorCell): void {
    this.ready.push(cell)
    if (this.dispatchScheduled) return
    this.dispatchScheduled = true
    ;(this.dispatcher ??= Context.get(this.context, Scheduler.Scheduler).makeDispatcher()).scheduleTask(
      this.dispatch,
      0
    )
  }

  private readonly dispatch = (): void => {
    this.dispatchScheduled = false
    // the actors woken before this turn; those woken (or put back) while it runs wait for the next one
    for (let n = this.ready.length; n > 0; n--) {
      const cell = this.ready.shift()!
      try {
        cell.drainNow()
      } catch (defect) {
        cell.drainDefect(defect)
      }
    }
  }

  runBackground(effect: Effect.Effect<void>): void {
    Effect.runForkWith(this.context)(effect)
  }

  /** Runs an effect in the background, if there is one. */
  runDetached(effect: Effect.Effect<void> | undefined): void {
    if (effect !== undefined) this.runBackground(effect)
  }

  // ------------------------------------------------------------------------------------------------------
  // Spawning, stopping, watching
  // ------------------------------------------------------------------------------------------------------

  spawn<P extends Protocol.Any, S, R>(
    parent: ActorCell,
    behavior: Behavior<P, S, R>,
    options: SpawnOptions = {}
  ): Effect.Effect<ActorRef<P>, NameTaken | InvalidName | SpawnFailed | SystemShuttingDown, R> {
    return Effect.contextWith((context: Context.Context<R>) =>
      Effect.suspend((): Effect.Effect<ActorRef<P>, NameTaken | InvalidName | SpawnFailed | SystemShuttingDown> => {
        if (this.shutdownOnce.isShuttingDown || parent.isTerminated) {
          return Effect.fail(new SystemShuttingDown({ system: this.settings.name }))
        }
        let name = options.name
        if (name === undefined) name = parent.nextChildName()
        else if (!validName.test(name)) return Effect.fail(new InvalidName({ name }))
        if (parent.children?.has(name)) {
          return Effect.fail(new NameTaken({ path: `${parent.path}/${name}` }))
        }
        const bad =
          options.shutdownTimeout === undefined
            ? undefined
            : badDuration([["shutdownTimeout", options.shutdownTimeout]])
        if (bad !== undefined) {
          return Effect.fail(
            new SpawnFailed({ path: `${parent.path}/${name}`, cause: `its option ${bad.option} ${bad.detail}` })
          )
        }
        const cell = new ActorCell(
          this,
          parent,
          name,
          `${parent.path}/${name}`,
          behavior as never,
          options.mailbox === undefined && options.restart === undefined && options.shutdownTimeout === undefined
            ? this.defaultCellOptions
            : {
                mailbox: options.mailbox ?? this.settings.mailbox,
                restart: options.restart ?? "transient",
                shutdownTimeoutMillis:
                  options.shutdownTimeout === undefined
                    ? this.settings.shutdownTimeoutMillis
                    : Duration.toMillis(options.shutdownTimeout)
              },
          context as Context.Context<never>
        )
        ;(parent.children ??= new Map()).set(name, cell)
        this.registry.set(cell.path, cell)
        this.publish(new SystemEvent.Spawned({ path: cell.path, protocol: behavior.protocol.name }))
        return cell.start().pipe(
          Effect.onError((cause) => cell.stopTree(new Terminated.Failed({ cause }))),
          Effect.mapError((error) => new SpawnFailed({ path: cell.path, cause: Cause.pretty(Cause.fail(error)) })),
          Effect.catchDefect((defect) =>
            Effect.fail(new SpawnFailed({ path: cell.path, cause: Cause.pretty(Cause.die(defect)) }))
          ),
          Effect.as(cell.ref as unknown as ActorRef<P>)
        )
      })
    )
  }

  unregister(cell: ActorCell): void {
    if (this.registry.get(cell.path) === cell) this.registry.delete(cell.path)
  }

  /** Stops an actor and waits until it has terminated. */
  stop(ref: ActorRef<Protocol.Any>): Effect.Effect<void> {
    return Effect.withFiber((fiber) => {
      const cell = localCell(ref)
      if (cell === undefined || cell.isTerminated || cell === this.guardian) return Effect.void
      const requester = fiber.getRef(CurrentActor)
      if (requester === cell) {
        cell.requestStopAfterCurrent()
        return Effect.void
      }
      if (requester !== undefined && requester === cell.parent) {
        // The parent itself asks: it cannot wait for its own control queue, so it stops the child here.
        return Effect.andThen(cell.freeze(), cell.stopTree(Terminated.stopped))
      }
      return Effect.callback<void>((resume) => {
        const cancel = cell.onTermination(() => resume(Effect.void))
        cell.requestStop(false)
        return Effect.sync(cancel)
      })
    })
  }

  watch(
    watcher: ActorCell,
    ref: ActorRef<Protocol.Any>,
    message: { readonly _tag: string } | undefined
  ): Effect.Effect<void> {
    return Effect.sync(() => {
      if (ref instanceof RemoteActorRef) {
        if (watcher.beginWatch(this.watchKey(ref))) ref.remoting.watch(watcher, ref, message)
        return
      }
      const cell = localCell(ref)
      if (cell !== undefined && watcher.beginWatch(cell)) cell.addWatcher(watcher, message)
    })
  }

  unwatch(watcher: ActorCell, ref: ActorRef<Protocol.Any>): Effect.Effect<void> {
    return Effect.sync(() => this.unwatchNow(watcher, ref))
  }

  /** {@link unwatch}, done at once. */
  unwatchNow(watcher: ActorCell, ref: ActorRef<Protocol.Any>): void {
    watcher.endWatch(this.watchKey(ref))
    if (ref instanceof RemoteActorRef) ref.remoting.unwatch(watcher, ref)
    else localCell(ref)?.removeWatcher(watcher)
  }

  /**
   * What identifies a watched actor in its watcher's bookkeeping: the cell of a local actor (a new actor at the
   * same path is another one); node, incarnation and path for an actor of another node.
   */
  watchKey(ref: ActorRef<Protocol.Any>): unknown {
    if (ref instanceof RemoteActorRef) return `${ref.node}\u0000${ref.peer.incarnation}\u0000${ref.path}`
    return localCell(ref) ?? ref.path
  }

  awaitTermination(ref: ActorRef<Protocol.Any>): Effect.Effect<Terminated.Terminated> {
    return Effect.callback<Terminated.Terminated>((resume) => {
      const cancel = this.onTermination(ref, (terminated) => resume(Effect.succeed(terminated)))
      return Effect.sync(cancel)
    })
  }

  /**
   * A ref to the local actor at `path` speaking `protocol`, for a ref that arrived inside a message: the live
   * actor's ref, or a ref to nobody (messages to it are dead letters) when there is none.
   */
  localRef(path: string, protocol: Protocol.Any): ActorRef<Protocol.Any> | string {
    const cell = this.registry.get(path)
    if (cell !== undefined && cell.protocol.name !== protocol.name) {
      return `the actor at ${path} speaks ${cell.protocol.name}, not ${protocol.name}`
    }
    return cell?.ref ?? ActorCell.ghost(this, path, protocol).ref
  }

  /** A cell terminated (hook for remoting, which forgets what that cell watched on other nodes). */
  cellTerminated(cell: ActorCell): void {
    this.remoting?.watcherTerminated(cell)
  }

  /** A ref to an actor of another node; undefined without a transport, or when the node is not a peer. */
  remoteRef<P extends Protocol.Any>(node: string, path: string, protocol: P): ActorRef<P> | undefined {
    return this.remoting?.refFor(node, path, protocol)
  }

  /** Calls `listener` once when the actor terminates; returns a canceller. */
  onTermination(ref: ActorRef<Protocol.Any>, listener: (terminated: Terminated.Terminated) => void): () => void {
    if (ref instanceof RemoteActorRef) return ref.remoting.watch(listener, ref, undefined)
    const cell = localCell(ref)
    if (cell === undefined) {
      listener(new Terminated.Terminated({ ref, reason: Terminated.stopped }))
      return () => {}
    }
    return cell.onTermination(listener)
  }

  // ------------------------------------------------------------------------------------------------------
  // Shutdown
  // ------------------------------------------------------------------------------------------------------

  /** Whether the system is shutting down (its actors are being stopped for good). */
  get isShuttingDown(): boolean {
    return this.shutdownOnce.isShuttingDown
  }

  /** Stops every actor (children before parents, in reverse start order, each with its deadline), once. */
  shutdown(): Effect.Effect<void> {
    return this.shutdownOnce.run
  }

  /**
   * Calls `f` once the system has shut down (every actor stopped): what a module registered elsewhere for this
   * system (a listener on a storage that outlives it) is dropped there; at once if it has. The answer cancels it.
   */
  whenShutdown(f: () => void): () => void {
    return this.shutdownOnce.whenShutdown(f)
  }

  /** A stream of system events from the moment it is run. */
  eventStream(): Stream.Stream<SystemEvent.SystemEvent> {
    return this.events.stream()
  }

  /** Subscribes now; the stream yields every event published after this effect. */
  subscribe(): Effect.Effect<Stream.Stream<SystemEvent.SystemEvent>, never, Scope.Scope> {
    return this.events.subscribe()
  }
}

/** The local cell behind a ref, if the ref is to an actor of this process. */
export const localCell = (ref: ActorRef<Protocol.Any>): ActorCell | undefined =>
  ref instanceof LocalActorRef ? ref.cell : undefined
