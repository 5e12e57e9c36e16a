/**
 * The receptionist: actors register under typed service keys, and others find them or subscribe to the
 * listing of a key. Listings span every connected node: a registration is announced to the other nodes,
 * and removed when its actor terminates or its node goes down.
 *
 * @example
 * ```ts
 * const Workers = Receptionist.key("workers", Worker)
 * yield* Receptionist.register(Workers, worker)
 * const workers = yield* Receptionist.find(Workers) // ReadonlyArray<ActorRef<typeof Worker>>, on every node
 * ```
 */
import { Effect, Queue, Stream } from "effect"
import type { ActorRef } from "./ActorRef.ts"
import { ActorSystem, internal } from "./ActorSystem.ts"
import type { Listing } from "./internal/listing.ts"
import type * as Protocol from "./Protocol.ts"

/** A typed key under which actors speaking `P` register. */
export interface ServiceKey<P extends Protocol.Any> {
  readonly id: string
  readonly protocol: P
}

/** Makes a service key. Keys with the same id denote the same service, on every node. */
export const key = <P extends Protocol.Any>(id: string, protocol: P): ServiceKey<P> => ({ id, protocol })

/** Registers an actor under a key (once; registering again does nothing). */
export const register = <P extends Protocol.Any>(
  key: ServiceKey<P>,
  ref: ActorRef<P>
): Effect.Effect<void, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => internal(system).receptionist.add(key.id, ref)))

/** Removes an actor from a key's listing. */
export const deregister = <P extends Protocol.Any>(
  key: ServiceKey<P>,
  ref: ActorRef<P>
): Effect.Effect<void, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => internal(system).receptionist.remove(key.id, ref)))

/** The actors registered under a key now, on this node and the connected ones. */
export const find = <P extends Protocol.Any>(
  key: ServiceKey<P>
): Effect.Effect<ReadonlyArray<ActorRef<P>>, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => internal(system).receptionist.refs(key.id, key.protocol)))

/**
 * The listing of a key: the current one first, then the new listing after changes. A subscriber that has not taken
 * the last listing yet gets the newest when it does (changes in between are folded into it, never queued one listing
 * each): a change costs the subscriber one entry, and each listing it takes a copy of its refs.
 */
export const subscribe = <P extends Protocol.Any>(
  key: ServiceKey<P>
): Stream.Stream<ReadonlyArray<ActorRef<P>>, never, ActorSystem> =>
  Stream.callback<Listing<P>, never, ActorSystem>((queue) =>
    Effect.flatMap(ActorSystem, (system) =>
      Effect.acquireRelease(
        Effect.sync(() =>
          internal(system).receptionist.listen(key.id, key.protocol, (listing) => Queue.offerUnsafe(queue, listing))
        ),
        (listened) => Effect.sync(listened.cancel)
      )
    )
  ).pipe(Stream.map((listing) => listing.take()))
