/**
 * One process that joins a node under many node ids (raw peers with the secret, from one address) and, under each,
 * lists actors it makes up, tells from senders it makes up, pauses sends to actors it makes up, and/or Joins the
 * node's participant `/user/w` (protocol `Job`, see
 * remote-id-rotation-flood.test.ts) to sessions it makes up, optionally beginning them. It prints one JSON line,
 * `{"flooded":...}`, when the node took everything, then stays linked (heartbeats) until it is killed.
 *
 * Run: `node id-flooder.ts '{"url":"ws://127.0.0.1:7000","secret":"...","ids":50,"listings":200}'`
 */
import * as PeerFlood from "./peer-flood.ts"

export interface FlooderConfig {
  readonly url: string
  readonly secret: string
  /** How many node ids (`flooder-0` ...). */
  readonly ids: number
  /** Listings of made-up actors under the receptionist key `echoes`, per id. */
  readonly listings?: number
  /** Joins of made-up sessions, per id (each an ask to `/user/w`). */
  readonly joins?: number
  /** Whether each session joined is then told `Begin` (it is held begun, never going on). */
  readonly begin?: boolean
  /** Tells to `/user/sink` (protocol `Echo`), each from a sender path of its own, per id. */
  readonly senders?: number
  /** Flow-control pauses of made-up actors of its own (`/user/paused-<n>`), per id: the node holds sends to them. */
  readonly pauses?: number
}

const config = JSON.parse(process.argv[2]!) as FlooderConfig
const PER_FRAME = 200

const begin = (node: string, n: number) => ({
  kind: "tell",
  to: { node: "target", path: "/user/w" },
  payload: { _tag: "Begin", session: `made-up-${node}-${n}` }
})

const pause = (n: number) => ({
  kind: "system",
  to: { node: "target", path: "/system" },
  payload: { type: "pause", path: `/user/paused-${n}` }
})

const tell = (node: string, n: number) => ({
  kind: "tell",
  to: { node: "target", path: "/user/sink" },
  from: { node, path: `/user/sender-${n}` },
  payload: { _tag: "Ping", text: "hi" }
})

// 16 handshakes at a time: a node takes 64 at once (limits.maxHandshakes), refusing more with 4008
const peers: Array<PeerFlood.Flooder> = []
for (let first = 0; first < config.ids; first += 16) {
  const ids = Array.from({ length: Math.min(16, config.ids - first) }, (_, i) => `flooder-${first + i}`)
  peers.push(...(await Promise.all(ids.map((node) => PeerFlood.join(config.url, node, config.secret)))))
}
for (const [i, peer] of peers.entries()) {
  const node = `flooder-${i}`
  if (config.senders !== undefined) await peer.send(config.senders, (n) => tell(node, n), PER_FRAME)
  if (config.pauses !== undefined) await peer.send(config.pauses, pause, 1_000)
  if (config.listings !== undefined)
    await peer.send(
      config.listings,
      (n) => PeerFlood.listing("add", { name: "echoes", protocol: "Echo", path: `/user/made-up-${node}-${n}` }),
      PER_FRAME
    )
  if (config.joins !== undefined) {
    await peer.send(config.joins, (n) => PeerFlood.madeUpJoin(node, n), PER_FRAME)
    if (config.begin === true) await peer.send(config.joins, (n) => begin(node, n), PER_FRAME)
  }
}
process.stdout.write(`${JSON.stringify({ flooded: config.ids })}\n`)
// linked until killed
setInterval(() => {}, 60_000)
