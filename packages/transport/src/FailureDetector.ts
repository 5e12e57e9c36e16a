/**
 * Failure detectors decide, from the heartbeats a peer sends, when it should be declared down.
 * Each link has one; it is fed every `heartbeat` frame (and, once a heartbeat is an interval overdue,
 * any other frame or completed handshake of the peer) and asked once per heartbeat interval.
 *
 * Two kinds:
 *
 * - {@link phiAccrual}: the phi accrual detector (Hayashibara et al., as in Akka and Cassandra). It
 *   learns the distribution of heartbeat intervals and reports a suspicion level `phi`; the peer is
 *   declared down when `phi` exceeds `threshold`. Adapts to jittery networks.
 * - {@link timeout}: declares the peer down when no heartbeat came for a fixed time. Predictable;
 *   handy in tests.
 *
 * @example
 * ```ts
 * import { FailureDetector } from "@troupe/transport"
 * const strict = FailureDetector.timeout("2 seconds")
 * const adaptive = FailureDetector.phiAccrual({ threshold: 10, acceptableHeartbeatPause: "3 seconds" })
 * ```
 * @since 0.1.0
 */
import { Duration } from "effect"

/**
 * Phi accrual settings.
 *
 * - `threshold`: the suspicion level at which the peer is declared down (8 means a wrong verdict
 *   about once in 10^8 with the learned distribution).
 * - `maxSampleSize`: how many recent heartbeat intervals it remembers.
 * - `minStdDeviation`: a floor on the learned deviation, so a very regular network does not make it
 *   jumpy.
 * - `acceptableHeartbeatPause`: pauses this long (GC, busy event loop) are tolerated on top of the
 *   learned mean.
 * - `firstHeartbeatEstimate`: the interval assumed before any was measured (defaults to the
 *   heartbeat interval).
 *
 * @since 0.1.0
 */
export interface PhiAccrualOptions {
  readonly _tag: "PhiAccrual"
  readonly threshold: number
  readonly maxSampleSize: number
  readonly minStdDeviation: Duration.Input
  readonly acceptableHeartbeatPause: Duration.Input
  readonly firstHeartbeatEstimate?: Duration.Input | undefined
}

/**
 * Timeout settings: the peer is down when no heartbeat came for `timeout`.
 *
 * @since 0.1.0
 */
export interface TimeoutOptions {
  readonly _tag: "Timeout"
  readonly timeout: Duration.Input
}

/**
 * The configuration of a failure detector.
 *
 * @since 0.1.0
 */
export type Options = PhiAccrualOptions | TimeoutOptions

/**
 * A phi accrual detector. Defaults: `threshold` 8, `maxSampleSize` 200, `minStdDeviation` 100 ms,
 * `acceptableHeartbeatPause` 3 s.
 *
 * @since 0.1.0
 */
export const phiAccrual = (options?: Partial<Omit<PhiAccrualOptions, "_tag">>): PhiAccrualOptions => ({
  _tag: "PhiAccrual",
  threshold: options?.threshold ?? 8,
  maxSampleSize: options?.maxSampleSize ?? 200,
  minStdDeviation: options?.minStdDeviation ?? "100 millis",
  acceptableHeartbeatPause: options?.acceptableHeartbeatPause ?? "3 seconds",
  firstHeartbeatEstimate: options?.firstHeartbeatEstimate
})

/**
 * A detector that declares the peer down after `after` without a heartbeat.
 *
 * @since 0.1.0
 */
export const timeout = (after: Duration.Input): TimeoutOptions => ({ _tag: "Timeout", timeout: after })

/**
 * A running detector for one peer. Times are epoch milliseconds.
 *
 * @since 0.1.0
 */
export interface FailureDetector {
  /** Records a heartbeat arrival. */
  readonly heartbeat: (now: number) => void
  /** The suspicion level: phi for phi accrual, elapsed / timeout for the timeout detector. */
  readonly suspicion: (now: number) => number
  /** `false` once the peer should be declared down. */
  readonly isAvailable: (now: number) => boolean
  /**
   * This node could not run for `millis` (a blocked event loop, a long GC): the pause is not held
   * against the peer, whose heartbeats could not be read meanwhile.
   */
  readonly pause: (millis: number) => void
}

/**
 * Starts a detector, as if a heartbeat had just arrived at `now`.
 *
 * @since 0.1.0
 */
export const make = (options: Options, heartbeatIntervalMs: number, now: number): FailureDetector =>
  options._tag === "Timeout"
    ? makeTimeout(Duration.toMillis(options.timeout), now)
    : makePhiAccrual(options, heartbeatIntervalMs, now)

const makeTimeout = (timeoutMs: number, now: number): FailureDetector => {
  let last = now
  return {
    heartbeat: (at) => {
      last = at
    },
    suspicion: (at) => (at - last) / timeoutMs,
    isAvailable: (at) => at - last < timeoutMs,
    pause: (millis) => {
      last += millis
    }
  }
}

const makePhiAccrual = (options: PhiAccrualOptions, heartbeatIntervalMs: number, now: number): FailureDetector => {
  const millis = Duration.toMillis
  const minStdDeviation = millis(options.minStdDeviation)
  const pause = millis(options.acceptableHeartbeatPause)
  const first =
    options.firstHeartbeatEstimate === undefined ? heartbeatIntervalMs : millis(options.firstHeartbeatEstimate)
  const intervals: Array<number> = []
  let sum = 0
  let squares = 0
  const add = (interval: number) => {
    if (intervals.length >= options.maxSampleSize) {
      const dropped = intervals.shift()!
      sum -= dropped
      squares -= dropped * dropped
    }
    intervals.push(interval)
    sum += interval
    squares += interval * interval
  }
  // Seed with two samples around the estimate, as Akka does, so phi is meaningful from the start.
  add(first - first / 4)
  add(first + first / 4)
  let last = now
  const phi = (at: number): number => {
    const elapsed = at - last
    const mean = sum / intervals.length
    const deviation = Math.max(Math.sqrt(Math.max(squares / intervals.length - mean * mean, 0)), minStdDeviation)
    const y = (elapsed - (mean + pause)) / deviation
    const e = Math.exp(-y * (1.5976 + 0.070566 * y * y))
    return elapsed > mean + pause ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e))
  }
  return {
    heartbeat: (at) => {
      add(at - last)
      last = at
    },
    suspicion: phi,
    isAvailable: (at) => phi(at) < options.threshold,
    pause: (millis) => {
      last += millis
    }
  }
}
