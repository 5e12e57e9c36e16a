/**
 * Where a link's outgoing `data` frames are written: a few buffers the link keeps (stores), each cut into frames one
 * after the other, and written again from its start once every frame cut from it has been written out. A link
 * streaming frames then writes them into the same memory over and over: fresh memory costs the kernel's page faults
 * (about 10 µs of CPU per 4 KiB page on a VM: more than encoding the envelopes in it) and external memory that
 * makes V8 collect sooner.
 *
 * A frame is cut for the write about to be handed to a connection (its {@link Writes}): the store knows that write's
 * number, and is free again once the connection's completed writes reach it. A connection's writes complete in the
 * order they were handed (one socket, or one in-process pipe, each in order), so the last frame's write completing
 * means every earlier frame cut from the store was written out. A store is cut only for one connection at a time
 * while its frames are out (frames on an old connection may be written out after the link moved on); a store whose
 * writes never complete (a connection dropped before its callbacks) is replaced and left to the garbage collector.
 */

/** A connection's writes: how many were handed to the wire, and how many completed (done called, error or not). */
export interface Writes {
  readonly handed: number
  readonly completed: number
}

/**
 * A store's bytes: a full frame of the link's (`FRAME_BYTES` in linkLimits.ts, 120 KiB) and its head, or several
 * smaller ones. A larger frame (one large envelope alone) gets a buffer of its own.
 */
export const STORE_BYTES = 128 * 1024
/** Stores a link keeps at most: its socket takes frames while at most 64 KiB wait (`HIGH_WATER`), so few are out. */
const STORES = 4

interface Store {
  readonly buffer: Buffer
  /** Bytes cut from the start (frames that may still be out). */
  used: number
  /** The connection the last frame cut from it went to, and that write's number there. */
  writes: Writes | undefined
  write: number
}

const idle = (store: Store): boolean => store.writes === undefined || store.writes.completed >= store.write

/**
 * @example
 * ```ts
 * const arena = new FrameArena()
 * const frame = arena.take(1000, connection) // then connection.write(frame) at once
 * ```
 */
export class FrameArena {
  private stores: Array<Store> = []
  private current: Store | undefined = undefined
  /** Where the next store is replaced when all are out. */
  private replace = 0

  /** A buffer of `bytes` for the frame about to be handed to `writes` as its next write (written at once). */
  take(bytes: number, writes: Writes): Buffer {
    if (bytes > STORE_BYTES) return Buffer.allocUnsafeSlow(bytes)
    let store = this.current
    if (store === undefined || !this.fits(store, bytes, writes)) store = this.next(writes)
    const at = store.used
    store.used = at + bytes
    store.writes = writes
    store.write = writes.handed + 1
    return store.buffer.subarray(at, at + bytes)
  }

  /** Drops the stores (an idle link keeps none). */
  clear(): void {
    this.stores = []
    this.current = undefined
  }

  /** Whether `bytes` can be cut from `store` for `writes` (written again from its start if all of it is out). */
  private fits(store: Store, bytes: number, writes: Writes): boolean {
    if (idle(store)) store.used = 0
    else if (store.writes !== writes) return false
    return STORE_BYTES - store.used >= bytes
  }

  /** A store all of whose frames were written out (from its start), a new one, or one that replaces a busy one. */
  private next(writes: Writes): Store {
    const stores = this.stores
    for (let i = 0; i < stores.length; i++) {
      const store = stores[i]!
      if (store !== this.current && idle(store)) {
        store.used = 0
        this.current = store
        return store
      }
    }
    const store: Store = { buffer: Buffer.allocUnsafeSlow(STORE_BYTES), used: 0, writes, write: 0 }
    if (stores.length < STORES) stores.push(store)
    else {
      stores[this.replace] = store
      this.replace = (this.replace + 1) % STORES
    }
    this.current = store
    return store
  }
}
