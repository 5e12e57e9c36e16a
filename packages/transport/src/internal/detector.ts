/**
 * Failure detection on the heartbeat tick, with this node's own stalls taken out. The tick is due
 * every heartbeat interval; when it runs late, the lateness is this node's scheduling lag (a
 * synchronous handler, a long GC), during which it could not read its peers' heartbeats either. As
 * Akka's detector does, a stall (a lag of two heartbeat intervals or more) is not held against the
 * peers: each detector (and each idle timer) is shifted by it before anyone is judged, so a node that
 * wakes from a stall, or runs late tick after tick on a loaded machine, does not declare its healthy
 * peers down. A dead peer is still declared down: each tick forgives only its own lateness, so the
 * detector gives up after as many ticks as it would on time (later in wall-clock time, by the lag).
 */
import type { Engine } from "./engine.ts"

/** The shortest lag taken for a stall, in heartbeat intervals. */
const STALL_HEARTBEATS = 2
/** The shortest stall worth a warning in the log (shorter ones are a loaded machine's usual lateness). */
const WARN_MS = 1_000

export class Detector {
  private readonly engine: Engine
  private lastTick = 0

  constructor(engine: Engine) {
    this.engine = engine
  }

  /**
   * Measures this node's lag since the previous tick, forgives it to every peer if it was a stall,
   * then declares down the links whose detector gave up.
   */
  judge(at: number): void {
    const engine = this.engine
    const lag = this.lastTick === 0 ? 0 : at - this.lastTick - engine.options.heartbeatMs
    this.lastTick = at
    if (lag >= STALL_HEARTBEATS * engine.options.heartbeatMs) {
      for (const link of engine.links.values()) link.detector.pause(lag)
      for (const connection of engine.connections) connection.lastReceived += lag
      if (lag >= WARN_MS) {
        engine.log("Warn", "this node was stalled; its peers are not blamed for it", {
          lag: `${lag} ms`,
          detail: "a synchronous handler or a long GC kept the event loop from running"
        })
      }
    }
    for (const link of engine.links.values()) {
      if (!link.detector.isAvailable(at)) {
        engine.peers.declareDown(
          link,
          "unreachable",
          `no heartbeat for ${at - link.lastHeartbeat} ms (suspicion ${link.detector.suspicion(at).toFixed(1)})`
        )
      }
    }
  }
}
