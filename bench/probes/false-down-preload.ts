/**
 * Why a live node is declared down on a loaded machine: preloaded into the nodes of a multi-process test, it records
 * each node's own scheduling lag (the heartbeat tick's lateness, and a 10 ms interval's), the gaps between its
 * peers' heartbeats as it takes them, and, at each down verdict, what the node saw in the seconds before.
 * Measurement only (it patches the transport's internals); it writes `$TROUPE_PROBE_DIR/<node>-<pid>.json` every second.
 *
 *   TROUPE_PROBE_DIR=/tmp/probe NODE_OPTIONS="--import ./bench/probes/false-down-preload.ts" \
 *     pnpm exec vitest run test/remote-chaos.test.ts
 *
 * Then `pnpm exec node bench/probes/false-down-summary.ts /tmp/probe` (`false-down-summary.ts`).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import type { Link as LinkType } from "../../packages/transport/src/internal/link.ts"

const dir = process.env.TROUPE_PROBE_DIR
const spec = (() => {
  try {
    return JSON.parse(process.argv[2] ?? "{}") as { node?: string }
  } catch {
    return {}
  }
})()

if (dir !== undefined && spec.node !== undefined) {
  // only in the nodes (not in the test runner's processes)
  const { Detector } = await import("../../packages/transport/src/internal/detector.ts")
  const { Link } = await import("../../packages/transport/src/internal/link.ts")
  const { Peers } = await import("../../packages/transport/src/internal/peers.ts")
  type Link = LinkType
  type Detector = InstanceType<typeof Detector>
  type Peers = InstanceType<typeof Peers>
  mkdirSync(dir, { recursive: true })
  const bounds = [25, 50, 100, 200, 400, 1000, 2000, Number.POSITIVE_INFINITY]
  const histogram = () => ({ counts: bounds.map(() => 0), max: 0, total: 0, sum: 0 })
  type Histogram = ReturnType<typeof histogram>
  const record = (h: Histogram, value: number) => {
    h.counts[bounds.findIndex((b) => value < b)]!++
    h.max = Math.max(h.max, value)
    h.total++
    h.sum += value
  }
  const started = Date.now()
  const t = (at: number) => at - started
  // the node's own lateness: a 10 ms interval, and the heartbeat tick
  const loopLag = histogram()
  const tickLag = histogram()
  const recentLags: Array<[number, number]> = [] // [at, lag of the tick] over the last 10 s
  let lastInterval = Date.now()
  setInterval(() => {
    const at = Date.now()
    record(loopLag, at - lastInterval - 10)
    lastInterval = at
  }, 10).unref()
  const judge = Detector.prototype.judge
  Detector.prototype.judge = function (this: Detector, at: number) {
    const self = this as unknown as { lastTick: number; engine: { options: { heartbeatMs: number } } }
    if (self.lastTick !== 0) {
      const lag = at - self.lastTick - self.engine.options.heartbeatMs
      record(tickLag, lag)
      recentLags.push([at, lag])
      while (recentLags.length > 0 && recentLags[0]![0] < at - 10_000) recentLags.shift()
    }
    judge.call(this, at)
  }
  // the peers' heartbeat arrival gaps, per link
  const gaps = histogram()
  const recentGaps = new WeakMap<Link, Array<[number, number]>>()
  const heartbeat = Link.prototype.heartbeat
  Link.prototype.heartbeat = function (this: Link, at: number) {
    const gap = at - this.lastHeartbeat
    record(gaps, gap)
    let recent = recentGaps.get(this)
    if (recent === undefined) recentGaps.set(this, (recent = []))
    recent.push([t(at), gap])
    if (recent.length > 30) recent.shift()
    heartbeat.call(this, at)
  }
  // each down verdict with what led to it
  const verdicts: Array<unknown> = []
  const declareDown = Peers.prototype.declareDown
  Peers.prototype.declareDown = function (
    this: Peers,
    link: Link,
    reason: Parameters<Peers["declareDown"]>[1],
    message: string
  ) {
    if (!link.down) {
      const at = Date.now()
      const silence = at - link.lastHeartbeat
      const lagsInSilence = recentLags.filter(([when]) => when >= link.lastHeartbeat)
      verdicts.push({
        at: t(at),
        peer: `${link.peer.node}/${link.peer.incarnation}`,
        reason,
        message,
        silenceMs: silence,
        connection: link.active?.state ?? "none",
        // the node's own tick lateness during the silence: the sum, and the part under a stall (not forgiven)
        ownLagInSilenceMs: lagsInSilence.reduce((sum, [, lag]) => sum + lag, 0),
        ownLagsInSilence: lagsInSilence.map(([, lag]) => lag),
        lastGaps: (recentGaps.get(link) ?? []).slice(-10)
      })
    }
    declareDown.call(this, link, reason, message)
  }
  const file = `${dir}/${spec.node}-${process.pid}.json`
  const dump = () =>
    writeFileSync(
      file,
      JSON.stringify({
        node: spec.node,
        pid: process.pid,
        ranMs: Date.now() - started,
        bounds,
        loopLag,
        tickLag,
        gaps,
        verdicts
      })
    )
  setInterval(dump, 1000).unref()
  process.on("exit", dump)
}
