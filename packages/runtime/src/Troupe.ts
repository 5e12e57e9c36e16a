/**
 * Troupe for code that does not use Effect: start an actor system and spawn, tell, ask and stop actors with
 * Promises. Behaviours are still written with Effect; the code that talks to them need not be (an Express or
 * plain `node:http` handler, a CLI, a test).
 *
 * Failures reject the Promise with the typed error itself (`AskTimeout`, the request's declared failure,
 * ...), so `catch (e) { if (e._tag === "AskTimeout") … }` works.
 *
 * With `storage`, actors can be durable and addressed by id: `troupe.entity(kind, id)` gets (or spawns) the
 * entity of an id, and `{ durable: true }` makes a tell or ask durable (see `Durable`, `Entity`).
 *
 * @example
 * ```ts
 * const troupe = await Troupe.start({ name: "api" })
 * const counter = await troupe.spawn(counterBehavior, { name: "counter" })
 * await troupe.tell(counter, Counter.Add({ n: 1 }))
 * const n = await troupe.ask(counter, Counter.Get(), { timeout: "1 second" })
 * await troupe.shutdown()
 *
 * // one durable agent per user, in a SQLite file, with a model for the agents
 * const api = await Troupe.start({ name: "api", storage: { sqlite: "troupe.db" }, services: OpenAi.layerConfig() })
 * const agent = await api.entity(Support, userId)
 * const answer = await api.ask(agent, Agent.Protocol.Ask({ prompt }), { durable: true, id: requestId, timeout: "1 minute" })
 * ```
 */
import { Cause, Effect, Exit, Layer, ManagedRuntime } from "effect"
import type { ActorRef, AskOptions } from "./ActorRef.ts"
import * as ActorSystem from "./ActorSystem.ts"
import type { Behavior } from "./Behavior.ts"
import * as Durable from "./durable/Durable.ts"
import * as Entity from "./durable/Entity.ts"
import * as Storage from "./durable/Storage.ts"
import type { MailboxFull } from "./Mailbox.ts"
import type * as Protocol from "./Protocol.ts"
import type { Terminated } from "./Terminated.ts"

/** How a durable message is sent (see `Durable.tell`): stored before it is acknowledged, deduplicated by `id`. */
export interface DurableOptions {
  /** Store the message before acknowledging it (the troupe needs a `storage`). */
  readonly durable?: boolean
  /** The message's id, for deduplication (a fresh UUID by default). */
  readonly id?: string | undefined
}

/** A running actor system, driven with Promises. `R`: the services its actors may need (its `services`, `Storage`). */
export interface Troupe<R = never> {
  /** The underlying system, for code that does use Effect. */
  readonly system: ActorSystem.ActorSystemService
  /** Spawns a top-level actor. Rejects with a `SpawnError`. */
  spawn<P extends Protocol.Any, S>(
    behavior: Behavior<P, S, R>,
    options?: ActorSystem.SpawnOptions
  ): Promise<ActorRef<P>>
  /** A ref to the entity `id` of a kind: spawned on its first message, from its stored state (see `Entity`). */
  entity<P extends Protocol.Any>(kind: Entity.Kind<P, R>, id: string): Promise<ActorRef<P>>
  /** Sends a message; resolves once it is in the mailbox (or, `durable`, once it is stored). */
  tell<P extends Protocol.Any>(ref: ActorRef<P>, message: Protocol.Message<P>, options?: DurableOptions): Promise<void>
  /** Sends a request and resolves with its reply; rejects with the declared failure or an `AskError`. */
  ask<P extends Protocol.Any, M extends Protocol.Request<P>>(
    ref: ActorRef<P>,
    message: M,
    options?: AskOptions & DurableOptions
  ): Promise<Protocol.Success<P, M["_tag"]>>
  /** Finds a live actor by path, on this node or (with `node`) another one. Rejects with `ActorNotFound`. */
  lookup<P extends Protocol.Any>(path: string, protocol: P, options?: { readonly node?: string }): Promise<ActorRef<P>>
  /** Stops an actor and resolves when it has terminated. */
  stop(ref: ActorRef<Protocol.Any>): Promise<void>
  /** Resolves when the actor terminates. */
  awaitTermination(ref: ActorRef<Protocol.Any>): Promise<Terminated>
  /** Runs any effect that needs the actor system (and the troupe's services). */
  run<A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem | R>): Promise<A>
  /** Joins another node through the system's transport; resolves with its id. */
  connect(target: string): Promise<string>
  /** Stops every actor and releases the system's resources (and its transport's, if any). */
  shutdown(): Promise<void>
}

/** Where durable state is kept: a SQLite file, a PostgreSQL URL, or a storage layer. */
export type StorageOption =
  | { readonly sqlite: string }
  | { readonly postgres: string }
  | Layer.Layer<Storage.Storage, unknown>

/** Options of {@link start}: the actor system's, and what its actors need. */
export interface StartOptions<E = never, RS = never> extends ActorSystem.Options<E> {
  /** Storage for durable actors, entities and durable messages; it outlives the system. */
  readonly storage?: StorageOption
  /** Services the actors need (a `LanguageModel` for agents, …), built before the system and released after it. */
  readonly services?: Layer.Layer<RS, unknown>
}

const storageLayer = (storage: StorageOption | undefined): Layer.Layer<Storage.Storage, unknown> | undefined => {
  if (storage === undefined) return undefined
  if (Layer.isLayer(storage)) return storage as Layer.Layer<Storage.Storage, unknown>
  const where = storage as { readonly sqlite?: string; readonly postgres?: string }
  return where.sqlite !== undefined
    ? Storage.layerSqlite({ filename: where.sqlite })
    : Storage.layerPostgres({ url: where.postgres ?? "" })
}

/**
 * Starts an actor system. Give it a `transport` (e.g. `WebSocket.layer({ node, listen: { server } })` to
 * share your HTTP server) to reach actors on other nodes, a `storage` for durable actors, and `services` for
 * what the actors need. Rejects if the transport, the storage or a service cannot start.
 */
export const start = async <E = never, RS = never>(
  options: StartOptions<E, RS> = {}
): Promise<Troupe<RS | Storage.Storage>> => {
  type R = RS | Storage.Storage
  const storage = storageLayer(options.storage)
  const services = options.services
  const below = (
    storage === undefined ? services : services === undefined ? storage : Layer.merge(storage, services)
  ) as Layer.Layer<R, unknown> | undefined
  const layer = (
    below === undefined ? ActorSystem.layer(options) : Layer.provideMerge(ActorSystem.layer(options), below)
  ) as Layer.Layer<ActorSystem.ActorSystem | R, unknown>
  const runtime = ManagedRuntime.make(layer)
  const run = async <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem | R>): Promise<A> => {
    const exit = await runtime.runPromiseExit(effect)
    if (Exit.isSuccess(exit)) return exit.value
    throw Cause.squash(exit.cause)
  }
  const system = await run(ActorSystem.ActorSystem.use(Effect.succeed)).catch(async (error: unknown) => {
    await runtime.dispose()
    throw error
  })
  return {
    system,
    spawn: (behavior, spawnOptions) => run(system.spawn(behavior, spawnOptions)),
    entity: (kind, id) => run(Entity.ref(kind, id)),
    tell: (ref, message, tellOptions) =>
      run<void, MailboxFull | Durable.SendError>(
        tellOptions?.durable === true ? Durable.tell(ref, message, tellOptions) : ref.tell(message)
      ),
    ask: (ref, message, askOptions) =>
      run(askOptions?.durable === true ? Durable.ask(ref, message, askOptions) : ref.ask(message, askOptions)),
    lookup: (path, protocol, lookupOptions) => run(system.lookup(path, protocol, lookupOptions)),
    stop: (ref) => run(system.stop(ref)),
    awaitTermination: (ref) => run(system.awaitTermination(ref)),
    run,
    connect: (target) => run(system.connect(target)),
    shutdown: () => runtime.dispose()
  }
}
