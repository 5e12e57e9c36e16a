/**
 * The receptionist: actors register under typed service keys, and others find them or subscribe to the
 * listing of a key. A registered actor is removed from its listings when it terminates.
 *
 * @example
 * ```ts
 * const Workers = Receptionist.key("workers", Worker)
 * yield* Receptionist.register(Workers, worker)
 * const workers = yield* Receptionist.find(Workers) // ReadonlyArray<ActorRef<typeof Worker>>
 * ```
 */
import { Effect, Queue, Stream } from "effect"
import type { ActorRef } from "./ActorRef.ts"
import { ActorSystem, internal } from "./ActorSystem.ts"
import type { SystemImpl } from "./internal/system.ts"
import type * as Protocol from "./Protocol.ts"

/** A typed key under which actors speaking `P` register. */
export interface ServiceKey<P extends Protocol.Any> {
  readonly id: string
  readonly protocol: P
}

/** Makes a service key. Keys with the same id denote the same service. */
export const key = <P extends Protocol.Any>(id: string, protocol: P): ServiceKey<P> => ({ id, protocol })

type Listener = (refs: ReadonlyArray<ActorRef<Protocol.Any>>) => void

class Listing {
  readonly refs = new Map<ActorRef<Protocol.Any>, () => void>()
  readonly listeners = new Set<Listener>()
  snapshot(): ReadonlyArray<ActorRef<Protocol.Any>> {
    return [...this.refs.keys()]
  }
  notify(): void {
    const refs = this.snapshot()
    for (const listener of this.listeners) listener(refs)
  }
}

/** @internal The receptionist's table of one system. */
export class Table {
  private readonly listings = new Map<string, Listing>()
  private readonly system: SystemImpl
  constructor(system: SystemImpl) {
    this.system = system
  }

  listing(id: string): Listing {
    let listing = this.listings.get(id)
    if (listing === undefined) {
      listing = new Listing()
      this.listings.set(id, listing)
    }
    return listing
  }

  register(id: string, ref: ActorRef<Protocol.Any>): void {
    const listing = this.listing(id)
    if (listing.refs.has(ref)) return
    listing.refs.set(
      ref,
      this.system.onTermination(ref, () => this.deregister(id, ref))
    )
    listing.notify()
  }

  deregister(id: string, ref: ActorRef<Protocol.Any>): void {
    const listing = this.listings.get(id)
    const cancel = listing?.refs.get(ref)
    if (listing === undefined || cancel === undefined) return
    cancel()
    listing.refs.delete(ref)
    listing.notify()
  }
}

const TableKey = {}

/** @internal */
export const table = (system: SystemImpl): Table => system.extension(TableKey, () => new Table(system))

const withTable = <A>(f: (table: Table) => A): Effect.Effect<A, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => f(table(internal(system)))))

/** Registers an actor under a key (once; registering again does nothing). */
export const register = <P extends Protocol.Any>(
  key: ServiceKey<P>,
  ref: ActorRef<P>
): Effect.Effect<void, never, ActorSystem> => withTable((t) => t.register(key.id, ref))

/** Removes an actor from a key's listing. */
export const deregister = <P extends Protocol.Any>(
  key: ServiceKey<P>,
  ref: ActorRef<P>
): Effect.Effect<void, never, ActorSystem> => withTable((t) => t.deregister(key.id, ref))

/** The actors registered under a key now. */
export const find = <P extends Protocol.Any>(
  key: ServiceKey<P>
): Effect.Effect<ReadonlyArray<ActorRef<P>>, never, ActorSystem> =>
  withTable((t) => t.listing(key.id).snapshot() as ReadonlyArray<ActorRef<P>>)

/** The listing of a key: the current one first, then the new listing after every change. */
export const subscribe = <P extends Protocol.Any>(
  key: ServiceKey<P>
): Stream.Stream<ReadonlyArray<ActorRef<P>>, never, ActorSystem> =>
  Stream.callback<ReadonlyArray<ActorRef<P>>, never, ActorSystem>((queue) =>
    Effect.flatMap(ActorSystem, (system) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const listing = table(internal(system)).listing(key.id)
          const listener: Listener = (refs) => Queue.offerUnsafe(queue, refs as ReadonlyArray<ActorRef<P>>)
          listener(listing.snapshot())
          listing.listeners.add(listener)
          return () => listing.listeners.delete(listener)
        }),
        (remove) => Effect.sync(remove)
      )
    )
  )
