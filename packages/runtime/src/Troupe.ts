/**
 * Troupe for code that does not use Effect: start an actor system and spawn, tell, ask and stop actors with
 * Promises. Behaviours are still written with Effect; the code that talks to them need not be (an Express or
 * plain `node:http` handler, a CLI, a test).
 *
 * Failures reject the Promise with the typed error itself (`AskTimeout`, the request's declared failure,
 * ...), so `catch (e) { if (e._tag === "AskTimeout") … }` works.
 *
 * @example
 * ```ts
 * const troupe = await Troupe.start({ name: "api" })
 * const counter = await troupe.spawn(counterBehavior, { name: "counter" })
 * await troupe.tell(counter, Counter.Add({ n: 1 }))
 * const n = await troupe.ask(counter, Counter.Get(), { timeout: "1 second" })
 * await troupe.shutdown()
 * ```
 */
import { Cause, Effect, Exit, ManagedRuntime } from "effect"
import type { ActorRef, AskOptions } from "./ActorRef.ts"
import * as ActorSystem from "./ActorSystem.ts"
import type { Behavior } from "./Behavior.ts"
import type { MailboxFull } from "./Mailbox.ts"
import type * as Protocol from "./Protocol.ts"
import type { Terminated } from "./Terminated.ts"

/** A running actor system, driven with Promises. */
export interface Troupe {
  /** The underlying system, for code that does use Effect. */
  readonly system: ActorSystem.ActorSystemService
  /** Spawns a top-level actor. Rejects with a `SpawnError`. */
  spawn<P extends Protocol.Any, S>(behavior: Behavior<P, S>, options?: ActorSystem.SpawnOptions): Promise<ActorRef<P>>
  /** Sends a message; resolves once it is in the mailbox. */
  tell<P extends Protocol.Any>(ref: ActorRef<P>, message: Protocol.Message<P>): Promise<void>
  /** Sends a request and resolves with its reply; rejects with the declared failure or an `AskError`. */
  ask<P extends Protocol.Any, M extends Protocol.Request<P>>(
    ref: ActorRef<P>,
    message: M,
    options?: AskOptions
  ): Promise<Protocol.Success<P, M["_tag"]>>
  /** Finds a live actor by path, on this node or (with `node`) another one. Rejects with `ActorNotFound`. */
  lookup<P extends Protocol.Any>(path: string, protocol: P, options?: { readonly node?: string }): Promise<ActorRef<P>>
  /** Stops an actor and resolves when it has terminated. */
  stop(ref: ActorRef<Protocol.Any>): Promise<void>
  /** Resolves when the actor terminates. */
  awaitTermination(ref: ActorRef<Protocol.Any>): Promise<Terminated>
  /** Runs any effect that needs the actor system (and nothing else). */
  run<A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem>): Promise<A>
  /** Joins another node through the system's transport; resolves with its id. */
  connect(target: string): Promise<string>
  /** Stops every actor and releases the system's resources (and its transport's, if any). */
  shutdown(): Promise<void>
}

/**
 * Starts an actor system. Give it a `transport` (e.g. `WebSocket.layer({ node, listen: { server } })` to
 * share your HTTP server) to reach actors on other nodes. Rejects if the transport cannot start.
 */
export const start = async <E>(options: ActorSystem.Options<E> = {}): Promise<Troupe> => {
  const runtime = ManagedRuntime.make(ActorSystem.layer(options))
  const run = async <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem>): Promise<A> => {
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
    tell: (ref, message) => run(ref.tell(message) as Effect.Effect<void, MailboxFull>),
    ask: (ref, message, askOptions) => run(ref.ask(message, askOptions)),
    lookup: (path, protocol, lookupOptions) => run(system.lookup(path, protocol, lookupOptions)),
    stop: (ref) => run(system.stop(ref)),
    awaitTermination: (ref) => run(system.awaitTermination(ref)),
    run,
    connect: (target) => run(system.connect(target)),
    shutdown: () => runtime.dispose()
  }
}
