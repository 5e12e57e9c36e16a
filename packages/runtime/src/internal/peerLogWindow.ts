/**
 * Log lines about a peer, at most one a second per peer: a peer that sends 10,000 messages this node cannot decode,
 * or asks for 10,000 replies its own frame limit refuses, costs a few lines, not 10,000 (the transport limits its
 * own warnings the same way). The line that opens a window says how many were left out in the window before it.
 */

/** How long one peer's window lasts. */
const WINDOW_MS = 1000
/** Peers remembered at most; beyond, the oldest window is forgotten (with its count). */
const MAX_PEERS = 1024

/**
 * @example
 * ```ts
 * const log = new PeerLogWindow()
 * const earlier = log.admit("bob", Date.now())
 * if (earlier !== undefined) console.warn(`bob sent a bad message${earlier > 0 ? ` (and ${earlier} more earlier)` : ""}`)
 * ```
 */
export class PeerLogWindow {
  private readonly windows = new Map<string, { since: number; count: number }>()

  /**
   * Whether a line about `peer` may be logged at `now`: `undefined` when not (it is counted), or how many lines
   * about it were left out since the last one logged.
   */
  admit(peer: string, now: number): number | undefined {
    const window = this.windows.get(peer)
    if (window !== undefined && now - window.since < WINDOW_MS) {
      window.count++
      return undefined
    }
    const earlier = window?.count ?? 0
    this.windows.delete(peer)
    this.windows.set(peer, { since: now, count: 0 })
    if (this.windows.size > MAX_PEERS) this.windows.delete(this.windows.keys().next().value!)
    return earlier
  }
}
