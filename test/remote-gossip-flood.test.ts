/**
 * A peer with the secret sends membership gossip naming members it makes up, each at its own address. A node links to
 * the members it learns (transitive connections, on by default), and it started a dial loop for every address it was
 * told, at once: 5,000 made-up members were 5,000 sockets opened by the node within a second, each redialed up to five
 * times (a dial storm at whatever address the peer names, and as many sockets held). The node now dials at most
 * `limits.maxLearnedDials` members learned by gossip at once; the others are dialed when gossip names them again (it
 * repeats its member list every heartbeat). Hearsay never pushes out the addresses of the nodes it is linked to.
 */
import { createServer, type Socket } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { WebSocket } from "@troupe/transport"
import { Effect, Option, References, Schedule } from "effect"
import * as PeerFlood from "./support/peer-flood.ts"
import type * as RawPeer from "./support/raw-peer.ts"

const SECRET = "a gossip flood test secret"
const MEMBERS = 5_000

/**
 * A TCP server that counts the connections it gets (and the most open at once) and holds them open, saying nothing:
 * a dial there waits until the dialer's handshake timeout.
 */
const blackHole = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{
        readonly port: number
        readonly accepted: () => number
        readonly peak: () => number
        readonly close: () => void
      }>((resolve) => {
        const sockets = new Set<Socket>()
        let accepted = 0
        let peak = 0
        const server = createServer((socket) => {
          accepted++
          sockets.add(socket)
          peak = Math.max(peak, sockets.size)
          socket.on("error", () => {})
          socket.resume() // reads (and drops) what comes, so that a close from the dialer is seen
          socket.on("close", () => sockets.delete(socket))
        })
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resolve({
            port: typeof address === "object" && address !== null ? address.port : 0,
            accepted: () => accepted,
            peak: () => peak,
            close: () => {
              for (const socket of sockets) socket.destroy()
              server.close()
            }
          })
        })
      })
  ),
  (hole) => Effect.sync(() => hole.close())
)

describe("a peer gossips members it makes up", () => {
  it.live(
    "the node dials at most maxLearnedDials of them at once (was: a socket for each, 5,000 within a second)",
    () =>
      Effect.gen(function* () {
        const hole = yield* blackHole
        const { join } = yield* PeerFlood.floodTarget(SECRET, { transport: { handshakeTimeout: "1500 millis" } })
        const { raw } = yield* join("gossiper")
        for (let i = 0; i < MEMBERS; i += 1000) {
          const members = Array.from({ length: 1000 }, (_, j) => ({
            node: `ghost-${i + j}`,
            address: `ws://127.0.0.1:${hole.port}/ghost-${i + j}`
          }))
          raw.send({ type: "members", members })
        }
        // each dial is held by the black hole until the node's handshake timeout (1.5 s), then dialed again (at most five
        // times in all for a member learned by gossip): by then the node dialed each member it took at least twice
        yield* Effect.sleep("4 seconds")
        const what = `${hole.accepted()} connections, ${hole.peak()} at once`
        assert.isAtLeast(hole.accepted(), 1, "the node dialed none of the members it was told")
        assert.isAtMost(hole.peak(), 64, `the node dialed members a peer made up: ${what}`)
        assert.isAtMost(hole.accepted(), 5 * 64, `the node dialed members a peer made up: ${what}`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    60_000
  )

  it.live(
    "members an honest peer names are dialed while another peer's made-up members fill the budget (was: shared by all, the honest ones waited until the made-up dials gave up)",
    () =>
      Effect.gen(function* () {
        const hole = yield* blackHole
        const { join, transport } = yield* PeerFlood.floodTarget(SECRET, {
          transport: { handshakeTimeout: "3 seconds" }
        })
        const real = yield* WebSocket.make({ node: "real", secret: SECRET, listen: { port: 0, host: "127.0.0.1" } })
        const { raw: hostile } = yield* join("gossiper")
        const { raw: honest } = yield* join("honest")
        const ghosts = Array.from({ length: 1000 }, (_, j) => ({
          node: `ghost-${j}`,
          address: `ws://127.0.0.1:${hole.port}/ghost-${j}`
        }))
        // both gossip every 300 ms, as members do every heartbeat; the honest peer once the made-up members hold every
        // dial (64 sockets at the black hole)
        let honestToo = false
        const gossip = () => {
          hostile.send({ type: "members", members: ghosts })
          if (honestToo)
            honest.send({ type: "members", members: [{ node: "real", address: Option.getOrThrow(real.address) }] })
        }
        gossip()
        const every = setInterval(gossip, 300)
        yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(every)))
        yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => hole.peak() >= 64, times: 500 }))
        assert.strictEqual(hole.peak(), 64, "the made-up members did not take every dial")
        honestToo = true
        // the made-up members hold their dials at least 3 s each (the handshake timeout), up to five times
        const linked = yield* transport.peers.pipe(
          Effect.map((peers) => peers.some((peer) => peer.node === "real")),
          Effect.repeat({ until: (linked) => linked, schedule: Schedule.spaced("100 millis"), times: 60 })
        )
        assert.isTrue(
          linked,
          `the node did not link to the member an honest peer named within 6 s (${hole.peak()} dials at the made-up members at once)`
        )
        assert.isAtMost(hole.peak(), 64, `${hole.peak()} dials at the made-up members at once`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    60_000
  )

  it.live(
    "peers under more node ids than maxLearnedDials, a dial each, cannot starve an honest peer: it still dials one (was: none while every dial was held)",
    () =>
      Effect.gen(function* () {
        const hole = yield* blackHole
        const { join, transport } = yield* PeerFlood.floodTarget(SECRET, {
          transport: { handshakeTimeout: "3 seconds", limits: { maxLearnedDials: 8 } }
        })
        const real = yield* WebSocket.make({ node: "real", secret: SECRET, listen: { port: 0, host: "127.0.0.1" } })
        const hostiles = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]
        const peers: Array<RawPeer.RawPeer> = []
        for (const id of hostiles) peers.push((yield* join(`gossiper-${id}`)).raw)
        const { raw: honest } = yield* join("honest")
        let honestToo = false
        const gossip = () => {
          for (const [n, id] of hostiles.entries())
            peers[n]!.send({
              type: "members",
              members: Array.from({ length: 50 }, (_, j) => ({
                node: `ghost-${id}-${j}`,
                address: `ws://127.0.0.1:${hole.port}/ghost-${id}-${j}`
              }))
            })
          if (honestToo)
            honest.send({ type: "members", members: [{ node: "real", address: Option.getOrThrow(real.address) }] })
        }
        gossip()
        const every = setInterval(gossip, 300)
        yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(every)))
        // the made-up members hold every dial, shared among the 12 ids (one each at most, once the shares settled)
        yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => hole.peak() >= 8, times: 1_000 }))
        assert.isAtLeast(hole.peak(), 8, "the made-up members did not take every dial")
        honestToo = true
        const linked = yield* transport.peers.pipe(
          Effect.map((peers) => peers.some((peer) => peer.node === "real")),
          Effect.repeat({ until: (linked) => linked, schedule: Schedule.spaced("100 millis"), times: 100 })
        )
        assert.isTrue(
          linked,
          `the node did not link to the member an honest peer named within 10 s (${hole.peak()} dials at the made-up members at once)`
        )
        // at most one dial per peer naming members past the bound: 12 at the made-up members
        assert.isAtMost(hole.peak(), 12, `${hole.peak()} dials at the made-up members at once`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    60_000
  )
})
