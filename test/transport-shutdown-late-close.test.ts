/**
 * A node that shuts down with envelopes its peer never acknowledged releases its links: it tells its receiver what
 * they carried (lost, once) and clears their resend buffers. A close that reaches the node after that, with the code
 * of a peer's quarantine (4008), must not end the link a second time. Before, it did: the released link was not down,
 * so the close declared it down again and read the unacknowledged envelopes of its cleared buffer (a TypeError thrown
 * from the socket's close handler, an uncaught exception in the node's process).
 *
 * The close is made to come late by a raw peer (test/support/raw-peer.ts) that sends a quarantine close frame by hand
 * and then reads nothing more: the node answers it, but the TCP connection stays open (the peer never ends its side),
 * so the socket closes only when the shutdown, past its deadline, terminates it, just before it releases the links.
 */
import { ActorAddress, CloseCode, Envelope, NodeId, WebSocket } from "@troupe/transport"
import { Effect, Exit, Option, Scope } from "effect"
import { describe, expect, it } from "vitest"
import * as RawPeer from "./support/raw-peer.ts"

const SECRET = "a late close test secret"
const SENT = 5

describe("a quarantine close after a shutdown released the link", () => {
  it("ends nothing twice: the unacknowledged envelopes are reported lost once, nothing is thrown", async () => {
    const uncaught: Array<unknown> = []
    const onUncaught = (error: unknown) => uncaught.push(error)
    process.on("uncaughtException", onUncaught)
    const lost: Array<unknown> = []
    try {
      const scope = Effect.runSync(Scope.make())
      const node = await Effect.runPromise(
        Scope.provide(
          WebSocket.make({
            node: "a",
            secret: SECRET,
            listen: { port: 0, host: "127.0.0.1" },
            failureDetector: { _tag: "Timeout", timeout: 60_000 },
            shutdownTimeout: 100
          }),
          scope
        )
      )
      await Effect.runPromise(
        Scope.provide(
          node.receiveWith({
            deliver: () => {},
            peer: () => {},
            lost: (_, envelopes) => lost.push(...envelopes.map((envelope) => envelope.payload))
          }),
          scope
        )
      )
      const peer = await RawPeer.open(Option.getOrThrow(node.address))
      await RawPeer.join(peer, RawPeer.identity("b"), SECRET)
      const to = ActorAddress.make(NodeId.make("b"), "/sink")
      for (let n = 1; n <= SENT; n++) {
        expect(node.offer(NodeId.make("b"), Envelope.make({ kind: "tell", to, payload: { n } }))).toBeUndefined()
      }
      let received = 0
      while (received < SENT) {
        const data = await RawPeer.nextWhere(peer, (frame) => frame.type === "data")
        received += (data.envelopes as ReadonlyArray<unknown>).length
      }
      // the peer acknowledges none of them, quarantines the node and reads nothing more
      peer.tcp.pause()
      peer.tcp.write(RawPeer.rawClose(CloseCode.Quarantined, "declared down by the test"))
      const started = Date.now()
      await Effect.runPromise(Scope.close(scope, Exit.void))
      // The shutdown terminated the node's socket (its close, with the peer's 4008, reaches the node in a later phase
      // of the event loop than the release). The peer reads again and its socket closes too; the node's close ran by
      // the end of that loop turn's close callbacks (libuv runs a turn's closing handles together): a check phase later
      // it has.
      peer.tcp.resume()
      await peer.closed
      await new Promise((resolve) => setImmediate(resolve))
      expect(uncaught).toEqual([])
      expect(lost).toEqual(Array.from({ length: SENT }, (_, i) => ({ n: i + 1 })))
      // bounded: the shutdown's deadline, then its second for the connections to close
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      process.off("uncaughtException", onUncaught)
    }
  }, 30_000)
})
