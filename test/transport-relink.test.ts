/**
 * Which link a handshake carries on with, seen from the wire (docs/transport.md, "The handshake", step 4): a
 * raw peer written from the documentation tells a node which link generation it knows and whether it holds
 * it, and checks the node's decision (the welcome's `generation`, bound into its proof) and what the node
 * delivers after it: a continued link drops what it already had, a new one starts from zero, and a link the
 * node ends is declared down.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorAddress, Envelope, NodeId, Peer, WebSocket } from "@troupe/transport"
import { Effect, Option, PubSub, References } from "effect"
import * as RawPeer from "./support/raw-peer.ts"

const SECRET = "a relink test secret"

/** Dials as `who`, saying which generation it knows last and whether it holds it; returns the open peer and the welcome. */
const dial = (url: string, who: RawPeer.Identity, generation: number, linked: boolean) =>
  Effect.promise(async () => {
    const peer = await RawPeer.open(url)
    const hello = RawPeer.hello(who)
    peer.send(hello)
    const challenge = await RawPeer.nextWhere(peer, (frame) => frame.type === "challenge")
    const key = RawPeer.handshakeKey(SECRET, who, hello, challenge)
    const label = `dialer${linked ? " linked" : ""}${generation > 0 ? ` ${generation}` : ""}`
    peer.send({
      type: "proof",
      proof: RawPeer.mac(key, label),
      ...(linked ? { linked } : {}),
      ...(generation > 0 ? { generation } : {})
    })
    const welcome = await RawPeer.nextWhere(peer, (frame) => frame.type === "welcome")
    assert.strictEqual(welcome.proof, RawPeer.mac(key, `acceptor ${welcome.received} link ${welcome.generation}`))
    return { peer, generation: welcome.generation as number }
  })

const hangUp = (peer: RawPeer.RawPeer) =>
  Effect.promise(() => {
    peer.socket.close()
    return peer.closed
  })

/** A data frame of envelopes numbered from `first`, carrying the tells `ns` to the node "target". */
const data = (first: number, ns: ReadonlyArray<number>) => ({
  type: "data",
  ack: 0,
  first,
  envelopes: ns.map((n) =>
    Envelope.make({ kind: "tell", to: ActorAddress.make(NodeId.make("target"), "/sink"), payload: { n } })
  )
})

describe("link generations on the wire", () => {
  it.live(
    "a node continues the link both hold, starts anew when the peer dropped it, and takes up one it never knew",
    () =>
      Effect.gen(function* () {
        const node = yield* WebSocket.make({
          node: "target",
          secret: SECRET,
          listen: { port: 0 },
          heartbeatInterval: "100 millis",
          failureDetector: { _tag: "Timeout", timeout: "30 seconds" }
        }).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
        const url = Option.getOrThrow(node.address)
        const events = yield* node.subscribe
        const who = RawPeer.identity("raw")
        const received: Array<number> = []
        /** Takes what the node delivered until `count` tells arrived in all. */
        const receiveUpTo = (count: number) =>
          Effect.gen(function* () {
            while (received.length < count) {
              for (const d of yield* node.receive) received.push((d.envelope.payload as { readonly n: number }).n)
            }
            return received
          })
        const downs = Effect.map(PubSub.takeUpTo(events, 1000), (all) =>
          all.filter(Peer.isPeerDown).map((e) => e.reason)
        )

        // no link yet: the first one
        const first = yield* dial(url, who, 0, false)
        assert.strictEqual(first.generation, 1)
        first.peer.send(data(1, [1, 2, 3]))
        assert.deepStrictEqual(yield* receiveUpTo(3), [1, 2, 3])
        yield* hangUp(first.peer)

        // both hold link 1: it continues; what is resent is dropped, what follows delivered
        const again = yield* dial(url, who, 1, true)
        assert.strictEqual(again.generation, 1)
        again.peer.send(data(1, [1, 2, 3, 4]))
        assert.deepStrictEqual(yield* receiveUpTo(4), [1, 2, 3, 4])
        assert.strictEqual((yield* node.stats).duplicates, 3)
        assert.deepStrictEqual(yield* downs, [])
        yield* hangUp(again.peer)

        // the peer dropped link 1 (it declared this node down): the node ends it too, and both start link 2 from zero
        const anew = yield* dial(url, who, 1, false)
        assert.strictEqual(anew.generation, 2)
        assert.deepStrictEqual(yield* downs, ["refused"])
        anew.peer.send(data(1, [5]))
        assert.deepStrictEqual(yield* receiveUpTo(5), [1, 2, 3, 4, 5])
        yield* hangUp(anew.peer)

        // the peer holds a link this node never knew (a welcome that never arrived): the node takes it up from zero
        const unknown = yield* dial(url, who, 7, true)
        assert.strictEqual(unknown.generation, 7)
        assert.deepStrictEqual(yield* downs, ["refused"])
        unknown.peer.send(data(1, [6]))
        assert.deepStrictEqual(yield* receiveUpTo(6), [1, 2, 3, 4, 5, 6])
        yield* hangUp(unknown.peer)

        // a dialer that knows less than the node's live link spoke before it learned of it: that link continues
        const behind = yield* dial(url, who, 0, false)
        assert.strictEqual(behind.generation, 7)
        behind.peer.send(data(1, [6, 7]))
        assert.deepStrictEqual(yield* receiveUpTo(7), [1, 2, 3, 4, 5, 6, 7])
        assert.deepStrictEqual(yield* downs, [])
        yield* hangUp(behind.peer)
      })
  )
})
