/**
 * A subscriber's copy of one name's listing in a directory (see `directory.ts`): local refs first, then remote ones
 * made with the subscriber's protocol, kept change by change. A change costs the subscriber O(1) (one map entry, and
 * one ref made for a remote entry that it takes), and at most one listing waits for it at a time: a listing is built
 * when the subscriber takes it, from the refs it keeps (a copy of the array, no ref made again). So 10,000 listings a
 * peer sends make 10,000 refs, not one whole listing per change (50 million refs, and as many array slots queued for a
 * subscriber that had not taken them yet).
 */
import type { ActorRef } from "../ActorRef.ts"
import type * as Protocol from "../Protocol.ts"

/** A remote entry as a directory keeps it. */
export interface RemoteEntry {
  readonly node: string
  readonly path: string
  readonly protocol: string
}

/** The changes a directory tells each listing of a name. */
export interface Changes {
  localAdded(ref: ActorRef<Protocol.Any>): void
  localRemoved(ref: ActorRef<Protocol.Any>): void
  remoteSet(key: string, entry: RemoteEntry): void
  remoteRemoved(key: string): void
}

/**
 * @example
 * ```ts
 * const listing = directory.listen("workers", Worker, (listing) => Queue.offerUnsafe(queue, listing))
 * // later, in the subscriber's fiber: the listing as it is now (built at most once per change)
 * const refs = listing.take()
 * ```
 */
export class Listing<P extends Protocol.Any> implements Changes {
  private readonly local = new Map<ActorRef<Protocol.Any>, ActorRef<P>>()
  private readonly remote = new Map<string, ActorRef<P>>()
  /** The listing last built, until the next change. */
  private built: ReadonlyArray<ActorRef<P>> | undefined = undefined
  /** A change was signalled and the subscriber has not taken the listing since. */
  private pending = false
  readonly protocol: P
  private readonly makeRef: (node: string, path: string, protocol: P) => ActorRef<P> | undefined
  private readonly signal: (listing: Listing<P>) => void

  constructor(
    protocol: P,
    makeRef: (node: string, path: string, protocol: P) => ActorRef<P> | undefined,
    signal: (listing: Listing<P>) => void
  ) {
    this.protocol = protocol
    this.makeRef = makeRef
    this.signal = signal
  }

  /** The listing now: built once per change (a copy of the refs kept), and the next change is signalled again. */
  take(): ReadonlyArray<ActorRef<P>> {
    this.pending = false
    this.built ??= [...this.local.values(), ...this.remote.values()]
    return this.built
  }

  localAdded(ref: ActorRef<Protocol.Any>): void {
    this.local.set(ref, ref as ActorRef<P>)
    this.changed()
  }

  localRemoved(ref: ActorRef<Protocol.Any>): void {
    if (this.local.delete(ref)) this.changed()
  }

  /** A remote entry was listed (or listed again) under `key`; one of another protocol is not in this listing. */
  remoteSet(key: string, entry: RemoteEntry): void {
    const ref = entry.protocol === this.protocol.name ? this.makeRef(entry.node, entry.path, this.protocol) : undefined
    if (ref === undefined) {
      if (this.remote.delete(key)) this.changed()
      return
    }
    if (this.remote.get(key) === ref) return
    this.remote.set(key, ref)
    this.changed()
  }

  remoteRemoved(key: string): void {
    if (this.remote.delete(key)) this.changed()
  }

  /** The listing changed: signalled unless a signal waits already (also the first listing, once filled). */
  changed(): void {
    this.built = undefined
    if (this.pending) return
    this.pending = true
    this.signal(this)
  }
}
