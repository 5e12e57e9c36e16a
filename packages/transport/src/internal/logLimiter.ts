/**
 * Log lines per key (a peer or an address) per second: the first `perSecond` pass, the rest are
 * counted, and once the second is over one summary line says how many were left out. So a peer
 * that sends 10,000 bad frames costs a few lines, not 10,000. All keys together get ten times
 * that, so many peers (thousands of ghosts) cannot flood the log either.
 */

/** Keys remembered at most; beyond, the oldest windows are summed up and forgotten. */
const MAX_KEYS = 1024
const WINDOW_MS = 1000

interface Window {
  since: number
  lines: number
  suppressed: number
}

export class LogLimiter {
  private readonly windows = new Map<string, Window>()
  /** All keys together, under the key "*". */
  private all: Window = { since: 0, lines: 0, suppressed: 0 }
  private readonly perSecond: number
  private readonly summary: (key: string, suppressed: number) => void

  constructor(perSecond: number, summary: (key: string, suppressed: number) => void) {
    this.perSecond = perSecond
    this.summary = summary
  }

  /** Whether a line about `key` may be logged now. */
  allow(key: string, at: number): boolean {
    if (at - this.all.since >= WINDOW_MS) this.closeAll(at)
    let window = this.windows.get(key)
    if (window !== undefined && at - window.since >= WINDOW_MS) {
      this.close(key, window)
      window = undefined
    }
    if (window === undefined) {
      window = { since: at, lines: 0, suppressed: 0 }
      this.windows.set(key, window)
      if (this.windows.size > MAX_KEYS) {
        const [oldest, old] = this.windows.entries().next().value!
        this.close(oldest, old)
      }
    }
    if (window.lines < this.perSecond && this.all.lines < this.perSecond * 10) {
      window.lines++
      this.all.lines++
      return true
    }
    if (window.lines < this.perSecond) this.all.suppressed++
    else window.suppressed++
    return false
  }

  /** Sums up and forgets the windows that are over. */
  flush(at: number): void {
    if (at - this.all.since >= WINDOW_MS) this.closeAll(at)
    for (const [key, window] of this.windows) if (at - window.since >= WINDOW_MS) this.close(key, window)
  }

  private closeAll(at: number): void {
    if (this.all.suppressed > 0) this.summary("*", this.all.suppressed)
    this.all = { since: at, lines: 0, suppressed: 0 }
  }

  private close(key: string, window: Window): void {
    this.windows.delete(key)
    if (window.suppressed > 0) this.summary(key, window.suppressed)
  }
}
