/**
 * A frame in transit shows its sender alive: over a slow network a frame of a few MB arrives over seconds, in many
 * socket reads, and the sender's heartbeats wait in the stream behind it. The receiver counts the bytes it reads on an
 * open connection as hearing the peer (at the failure detector's check, at most one heartbeat an interval), so it does
 * not declare down a peer whose bytes arrive all along; a network that stops carrying bytes still gets it declared
 * down. Real sockets through a TCP proxy that forwards at a bounded rate (~1 MB/s), and can freeze.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, type PubSub, References, Scope } from "effect"
import * as TcpProxy from "../../../test/support/tcp-proxy.ts"
import { ActorAddress, Envelope, NodeId, Peer, type Transport, WebSocket } from "../src/index.ts"
import { awaitEvent } from "./support/harness.ts"
import { downs } from "./support/traffic.ts"

const options: Transport.Options = {
  secret: "a test secret of the suite",
  heartbeatInterval: "100 millis",
  // the receiver's verdict: nothing heard for 1 s, down (the frame takes ~3 s through the proxy)
  failureDetector: { _tag: "Timeout", timeout: "1 second" },
  maxFrameBytes: 8 * 1024 * 1024,
  reconnect: { initialDelay: "20 millis", maxDelay: "200 millis" },
  shutdownTimeout: "300 millis"
}

/** ~1 MB/s each way: a 3 MB frame takes ~3 s, three times the receiver's timeout. */
const rate: TcpProxy.Rate = { bytes: 10_000, everyMs: 10 }
const wide = 3_000_000

/** `b` (dialing) linked to `a` (listening) through a rate-bound proxy; `a`'s peer events subscribed before. */
const slowPair = Effect.gen(function* () {
  const scope = yield* Effect.scope
  const quiet = <A, E>(make: Effect.Effect<A, E, Scope.Scope>) =>
    make.pipe(Scope.provide(scope), Effect.provideService(References.MinimumLogLevel, "Error"), Effect.orDie)
  const a = yield* quiet(WebSocket.make({ ...options, node: "a", listen: { port: 0 } }))
  const port = Number(new URL(Option.getOrThrow(a.address)).port)
  const proxy = yield* TcpProxy.make(port, rate)
  const b = yield* quiet(WebSocket.make({ ...options, node: "b" }))
  const events = yield* a.subscribe
  yield* b.connect(proxy.url)
  yield* awaitEvent(events, Peer.isPeerUp)
  const sent = b.send(
    NodeId.make("a"),
    Envelope.make({ kind: "tell", to: ActorAddress.make(NodeId.make("a"), "/sink"), payload: "x".repeat(wide) })
  )
  return { a, b, proxy, events, sent }
})

/** The first envelope `a` receives (its payload's length), the first PeerDown `a` publishes, or neither in 40 s. */
const arrivedOrDown = (a: Transport.Service, events: PubSub.Subscription<Peer.PeerEvent>) =>
  Effect.raceAll([
    Effect.map(a.receive, (batch) => ({ arrived: (batch[0]!.envelope.payload as string).length })),
    Effect.map(awaitEvent(events, Peer.isPeerDown), (down) => ({ down: `${down.node}: ${down.reason}` })),
    Effect.as(Effect.sleep("40 seconds"), { unheard: "neither delivered nor declared down in 40 s" })
  ])

describe("a frame in transit", () => {
  it.live(
    "keeps its sender alive: a 3 MB frame over ~3 s is delivered, no PeerDown on a 1 s detector",
    () =>
      Effect.gen(function* () {
        const { a, events, sent } = yield* slowPair
        const started = Date.now()
        yield* sent
        // before the fix: the connection closed as idle (nothing whole for three heartbeat intervals) again and again,
        // the frame resent on each, never through: { unheard: ... } (or, as the link outlived no handshake, { down })
        assert.deepStrictEqual(yield* arrivedOrDown(a, events), { arrived: wide })
        // the transfer outlasted the detector's timeout many times over (else the test proves nothing)
        assert.isAtLeast(Date.now() - started, 2000)
        // and the link holds after it
        yield* Effect.sleep(300)
        assert.strictEqual(yield* downs(events), 0)
      }).pipe(Effect.scoped),
    90_000
  )

  it.live(
    "does not hide silence: a network that stops mid-frame gets the sender declared down",
    () =>
      Effect.gen(function* () {
        const { a, proxy, events, sent } = yield* slowPair
        yield* sent
        // some of the frame through (~0.5 MB of 3), then nothing at all: no bytes, no heartbeats
        yield* Effect.sleep(500)
        proxy.freeze()
        const frozen = Date.now()
        const outcome = yield* arrivedOrDown(a, events)
        assert.isTrue("down" in outcome, JSON.stringify(outcome))
        // judged on the silence: about the detector's timeout after the freeze (before the fix: ~0.5 s, on no heartbeat since the send)
        assert.isAtLeast(Date.now() - frozen, 800)
      }).pipe(Effect.scoped),
    90_000
  )
})
