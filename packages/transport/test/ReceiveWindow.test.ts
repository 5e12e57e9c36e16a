/**
 * The receive window a node advertises is enforced (issue 10 finding 6): a peer may have at most `capacity`
 * envelopes past the node's last ack; one that sends more without waiting for acks is cut off with a protocol
 * error, so it cannot grow the node's memory. A peer that keeps within the window is served.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as RawPeer from "../../../test/support/raw-peer.ts"
import { ActorAddress, CloseCode, Envelope, NodeId, WebSocket } from "../src/index.ts"
import { eventually, fast } from "./support/harness.ts"

const CAPACITY = 64

const data = (first: number, count: number) => ({
  type: "data",
  ack: 0,
  first,
  envelopes: Array.from({ length: count }, (_, i) =>
    Envelope.make({
      kind: "tell",
      to: ActorAddress.make(NodeId.make("hub"), "/user/sink"),
      payload: { _tag: "Tick", n: first + i }
    })
  )
})

describe("the receive window", () => {
  it.live("a peer that sends past the window without acks is cut off; within it, nothing happens", () =>
    Effect.gen(function* () {
      // nobody takes the hub's inbound envelopes: it acknowledges nothing, so the window never moves
      // a patient detector: the raw peer sends no heartbeats
      const hub = yield* WebSocket.make({
        ...fast,
        failureDetector: { _tag: "Timeout", timeout: "1 minute" },
        node: "hub",
        listen: { port: 0 },
        resendBuffer: { capacity: CAPACITY }
      })
      const url = Option.getOrThrow(hub.address)
      const peer = yield* Effect.promise(() => RawPeer.open(url))
      yield* Effect.promise(() => RawPeer.join(peer, RawPeer.identity("flooder"), fast.secret as string))
      peer.send(data(1, CAPACITY))
      yield* eventually(
        Effect.map(hub.stats, (stats) => stats.links[0]?.received),
        (received) => received === CAPACITY
      )
      assert.isTrue(peer.isOpen())
      peer.send(data(CAPACITY + 1, 1))
      const closed = yield* Effect.promise(() => peer.closed)
      assert.strictEqual(closed.code, CloseCode.ProtocolError)
      assert.include(closed.reason, "window")
    })
  )
})
