/**
 * A link lets its waiting sends in at most a frame's worth per loop turn (transport internal/admission.ts), however
 * many acks one socket read brings. Here a raw peer (written from docs/transport.md) that acknowledges by hand sends
 * two acks in one go, so that the node reads them in one socket read: the first frees less room than a frame's worth,
 * the second more. Before the turn was the unit, each ack let a frame's worth in: 10 + 16 in one callback.
 */
import { ActorAddress, Envelope, NodeId, WebSocket } from "@troupe/transport"
import { Effect, Option } from "effect"
import { describe, expect, it } from "vitest"
import * as RawPeer from "./support/raw-peer.ts"

const SECRET = "an admission test secret"
const WINDOW = 64
const FRAME = WINDOW / 4 // a data frame holds at most a quarter of the window
const WAITING = 120

describe("acks read in one socket read", () => {
  it("let in one frame's worth of waiting sends in that turn, the rest on later turns, in order", async () => {
    const program = Effect.gen(function* () {
      const node = yield* WebSocket.make({
        node: "a",
        secret: SECRET,
        listen: { port: 0, host: "127.0.0.1" },
        resendBuffer: { capacity: WINDOW },
        failureDetector: { _tag: "Timeout", timeout: 60_000 }
      })
      const url = Option.getOrThrow(node.address)
      const peer = yield* Effect.promise(() => RawPeer.open(url))
      yield* Effect.promise(() => RawPeer.join(peer, RawPeer.identity("b"), SECRET, { window: WINDOW }))
      const to = ActorAddress.make(NodeId.make("b"), "/sink")
      const tell = (n: number) => Envelope.make({ kind: "tell", to, payload: { n } })
      for (let n = 1; n <= WINDOW; n++) expect(node.offer(NodeId.make("b"), tell(n))).toBeUndefined()
      // the window is full (the raw peer acknowledges nothing yet): the rest wait, counted by the callback they ran in
      const admitted: Array<number> = []
      const perCall: Array<number> = []
      let inCall = false
      for (let n = 1; n <= WAITING; n++) {
        const waiting = node.offer(NodeId.make("b"), tell(WINDOW + n), (error) => {
          expect(error).toBeUndefined()
          admitted.push(n)
          if (!inCall) {
            inCall = true
            perCall.push(0)
            queueMicrotask(() => {
              inCall = false
            })
          }
          perCall[perCall.length - 1]!++
        })
        expect(typeof waiting).toBe("function")
      }
      let received = 0
      const receive = (until: number) =>
        Effect.promise(async () => {
          while (received < until) {
            const data = await RawPeer.nextWhere(peer, (f) => f.type === "data")
            received += (data.envelopes as ReadonlyArray<unknown>).length
          }
        })
      yield* receive(WINDOW)
      // two acks in one go (the node runs in this process: it cannot read between them): 10 acknowledged, then 42
      peer.send({ type: "ack", ack: 10 })
      peer.send({ type: "ack", ack: 42 })
      yield* receive(WINDOW + FRAME)
      expect(perCall[0]).toBe(FRAME)
      // then the rest, acknowledged as it comes
      while (received < WINDOW + WAITING) {
        peer.send({ type: "ack", ack: received })
        yield* receive(Math.min(received + 1, WINDOW + WAITING))
      }
      expect(admitted).toEqual(Array.from({ length: WAITING }, (_, i) => i + 1))
      expect(Math.max(...perCall)).toBeLessThanOrEqual(FRAME)
      peer.socket.close()
    })
    await Effect.runPromise(Effect.scoped(program))
  }, 60_000)
})
