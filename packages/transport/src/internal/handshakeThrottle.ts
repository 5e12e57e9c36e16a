/** Failed handshakes per address: an address that fails too often is refused for a while. */

/** Failed handshakes per address are counted in windows of this length. */
const FAILURE_WINDOW_MS = 10_000
/** The most addresses whose failures are remembered (the oldest are forgotten first). */
const FAILURE_MEMORY = 10_000

/**
 * Failed handshakes per address, in fixed windows.
 *
 * @example
 * const throttle = new Throttle(options.limits.maxFailedHandshakes)
 * throttle.failed(connection.address, Date.now())
 * if (throttle.blocked(connection.address, Date.now())) refuse()
 */
export class Throttle {
  private readonly failures = new Map<string, { count: number; since: number }>()
  private readonly max: number
  constructor(max: number) {
    this.max = max
  }

  /** Whether this address has failed too often lately. */
  blocked(address: string, at: number): boolean {
    const entry = this.failures.get(address)
    if (entry === undefined) return false
    if (at - entry.since >= FAILURE_WINDOW_MS) {
      this.failures.delete(address)
      return false
    }
    return entry.count >= this.max
  }

  /** Counts a failed handshake from this address. */
  failed(address: string, at: number): void {
    const entry = this.failures.get(address)
    if (entry !== undefined && at - entry.since < FAILURE_WINDOW_MS) {
      entry.count++
      return
    }
    this.failures.delete(address)
    this.failures.set(address, { count: 1, since: at })
    if (this.failures.size > FAILURE_MEMORY) this.failures.delete(this.failures.keys().next().value!)
  }
}
