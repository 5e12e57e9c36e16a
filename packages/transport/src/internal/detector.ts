/**
 * Failure detection on the heartbeat tick, with this node's own lateness taken out. The tick is due
 * every heartbeat interval; when it runs late, the lateness is this node's scheduling lag (a starved
 * process, a synchronous handler, a long GC), during which it could not read its peers' frames either.
 * It is not held against the peers, however small: each detector and each idle timer (and, for a stall
 * of a second or more, each handshake and close deadline) is shifted by it before anyone is judged, so a
 * node that wakes from a stall, or runs late tick after tick on a loaded machine, does not declare its
 * healthy peers down nor refuse their handshakes. (Forgiving only stalls of two intervals or more let a
 * starved node's many shorter lags add up: at load 24 on 2 cores, 0.9 s and 1.0 s of them in a silence of
 * 5.2 s and 6.2 s turned a 3 s timeout into false downs.) A dead peer is still declared down: each tick
 * forgives only its own lateness, so the detector gives up after as many ticks as it would on time (later
 * in wall-clock time, by the lag).
 *
 * A peer is also given time to parse a wide envelope this node sent it ({@link Detector.busy}): parsing is
 * synchronous, so a receiver of 50,000 values (the default `maxEnvelopeValues`) cannot send a heartbeat for
 * about 0.1 s on a quiet core and seconds on a loaded one. Until it acknowledges that envelope, its silence
 * may last longer by {@link BUSY_US_PER_VALUE} per value (1.5 s for 50,000); a dead peer is declared down that
 * much later, and no later once it acknowledged.
 *
 * A peer that sent a wide envelope lately is given time to encode the next one ({@link Detector.sent}): encoding is
 * synchronous too (its checks, `JSON.stringify`, the count of its values: about as long as the receiver's parse), and
 * the peer's heartbeats cannot go out meanwhile. This node learns of it only from the envelope, after the silence:
 * for {@link LATELY_MS} after a peer's wide envelope arrived, its silence may last longer by {@link BUSY_US_PER_VALUE}
 * per value of the widest one (1.5 s at 50,000). A peer's first wide envelope has no such grace (on a quiet core
 * 50,000 values take it about 40 ms, well within the detector's tolerance; a heartbeat written before the encode would
 * not help: the writes of a stalled loop leave when it turns, and the encoder cannot know it is wide before encoding).
 *
 * After a stall Node runs the timers that fell due before it reads the sockets, so a deadline's timer
 * would judge a peer whose frames already wait unread: the tick measures the stall before it judges, and
 * a deadline of its own (`deadline`) looks again after the I/O already waiting has been read.
 */
import type { Engine } from "./engine.ts"
import type { Link } from "./link.ts"

/**
 * The time a peer is given per JSON value of an envelope this node sent it: about 30 times what `JSON.parse` and
 * the runtime's decoding cost per value on a quiet core (a share of a loaded 2-core machine at load 30 and more).
 */
export const BUSY_US_PER_VALUE = 30

/** How long after a peer's wide envelope arrived it is given time to encode the next one (see {@link Detector.sent}). */
export const LATELY_MS = 60_000

/**
 * The shortest stall worth a warning in the log, and taken out of handshake and close deadlines too (shorter
 * ones are a loaded machine's usual lateness, which those deadlines' own margin absorbs: forgiving it tick after
 * tick would stretch them many times over on a starved machine).
 */
const LONG_STALL_MS = 1_000

const now = Date.now

export class Detector {
  private readonly engine: Engine
  private lastTick = 0
  /** The part of the tick's current lateness already forgiven (by a deadline that looked before the tick ran). */
  private forgivenSinceTick = 0
  /** The long stalls forgiven so far, in all (see `deadline`). */
  private forgiven = 0

  constructor(engine: Engine) {
    this.engine = engine
  }

  /**
   * At the tick: measures this node's lag since the previous tick, forgives it, then declares down the links
   * whose detector gave up.
   */
  judge(at: number): void {
    this.catchUp(at)
    this.lastTick = at
    this.forgivenSinceTick = 0
    const engine = this.engine
    for (const link of engine.links.values()) {
      link.heard(link.lastHeard) // the frames read since its last heartbeat (see `Link.heard`)
      if (!link.detector.isAvailable(at - this.graceOf(link, at))) {
        engine.peers.declareDown(
          link,
          "unreachable",
          `no heartbeat for ${at - link.lastHeartbeat} ms (suspicion ${link.detector.suspicion(at).toFixed(1)})`
        )
      }
    }
  }

  /** The links whose peer is parsing a wide envelope: the extra silence allowed, until it acknowledges `seq`. */
  private readonly parsing = new WeakMap<Link, { ms: number; seq: number }>()

  /**
   * The envelope just put on `link` (its last) holds `values` JSON values: its peer, busy parsing it, may be
   * silent that much longer (see the module's doc) until it acknowledges it.
   */
  busy(link: Link, values: number): void {
    const before = this.parsing.get(link)
    const pending = before !== undefined && link.acked < before.seq ? before.ms : 0
    // several in flight add up, to at most four envelopes of the most values allowed
    const most = (4 * this.engine.options.maxEnvelopeValues * BUSY_US_PER_VALUE) / 1000
    const ms = Math.min(most, pending + (values * BUSY_US_PER_VALUE) / 1000)
    this.parsing.set(link, { ms, seq: link.lastSeq })
  }

  /** The links whose peer sent wide envelopes lately: the extra silence allowed, until `until`. */
  private readonly sending = new WeakMap<Link, { ms: number; until: number }>()

  /**
   * An envelope of `values` JSON values arrived on `link`, larger than a frame of envelopes: its peer stalls as long
   * as that to encode the next such envelope, so its silence may last that much longer for {@link LATELY_MS} (the
   * widest of those that arrived meanwhile counts).
   */
  sent(link: Link, values: number): void {
    const at = now()
    const before = this.sending.get(link)
    const ms = (values * BUSY_US_PER_VALUE) / 1000
    this.sending.set(link, {
      ms: before !== undefined && at < before.until ? Math.max(before.ms, ms) : ms,
      until: at + LATELY_MS
    })
  }

  private graceOf(link: Link, at: number): number {
    let grace = 0
    const sending = this.sending.get(link)
    if (sending !== undefined) {
      if (at < sending.until) grace = sending.ms
      else this.sending.delete(link)
    }
    const parsing = this.parsing.get(link)
    if (parsing === undefined) return grace
    if (link.acked < parsing.seq && !link.down) return Math.max(grace, parsing.ms)
    this.parsing.delete(link)
    return grace
  }

  /**
   * Calls `expire` once `ms` of this node's running time have passed, and only after the I/O already
   * waiting was read: the long stalls of this node meanwhile are added to the wait. Returns a cancel function.
   *
   * @example
   * const cancel = engine.detector.deadline(engine.options.handshakeMs, () => socket.destroy())
   * socket.once("upgrade", cancel)
   */
  deadline(ms: number, expire: () => void): () => void {
    const startedAt = now()
    const forgivenBefore = this.forgiven
    let timer: ReturnType<typeof setTimeout> | undefined
    let immediate: ReturnType<typeof setImmediate> | undefined
    const check = () => {
      immediate = undefined
      const at = now()
      this.catchUp(at)
      const left = ms - (at - startedAt - (this.forgiven - forgivenBefore))
      if (left > 0) timer = setTimeout(due, left)
      else expire()
    }
    const due = () => {
      timer = undefined
      immediate = setImmediate(check) // after the sockets that are ready have been read
    }
    timer = setTimeout(due, ms)
    return () => {
      if (timer !== undefined) clearTimeout(timer)
      if (immediate !== undefined) clearImmediate(immediate)
    }
  }

  /**
   * Forgives the part of this node's current lag not forgiven yet: the tick is due every heartbeat
   * interval, so a tick overdue means the node could not run meanwhile.
   */
  private catchUp(at: number): void {
    if (this.lastTick === 0) return
    const lag = at - this.lastTick - this.engine.options.heartbeatMs
    if (lag <= this.forgivenSinceTick) return
    const stall = lag - this.forgivenSinceTick
    this.forgivenSinceTick = lag
    const long = stall >= LONG_STALL_MS
    if (long) this.forgiven += stall
    const engine = this.engine
    for (const link of engine.links.values()) {
      link.heard(link.lastHeard) // frames read before the stall count before it is forgiven
      link.detector.pause(stall)
    }
    for (const connection of engine.connections) connection.forgive(stall, long)
    if (long) {
      engine.log("Warn", "this node was stalled; its peers are not blamed for it", {
        lag: `${stall} ms`,
        detail: "a synchronous handler or a long GC kept the event loop from running"
      })
    }
  }
}
