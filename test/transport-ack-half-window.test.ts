/**
 * A receiver acknowledges once half the sender's window is owed, in the call that hands the envelopes over: frames
 * that come in one socket read are handed over in one call (and a receiver behind on its work hands over a slice of
 * waiting frames in one call), and an ack left to the end of that call covered up to the whole window. The sender,
 * out of room until then, idled while the receiver worked through it, and the receiver idled while the sender filled
 * the next window: the two processes took turns (bench/notes.ts, `remote_pairs_100_vs_1`).
 *
 * A raw peer declares a window of 64 envelopes (the node acknowledges once 32 are owed) and sends 40 data frames of
 * 4 envelopes in one socket write; every ack the node sends may advance by at most half the window and one frame.
 */
import { assert, describe, it } from "@effect/vitest"
import { WebSocket } from "@troupe/transport"
import { Effect, Option, References } from "effect"
import type { WebSocket as Ws } from "ws"
import * as RawPeer from "./support/raw-peer.ts"

const SECRET = "an ack test secret"
const WINDOW = 64
const PER_FRAME = 4
const FRAMES = 40

describe("a receiver's acks", () => {
  it.live("go out as half the sender's window is owed, also within one socket read's frames", () =>
    Effect.gen(function* () {
      const node = yield* WebSocket.make({ node: "receiver", secret: SECRET, listen: { port: 0, host: "127.0.0.1" } })
      let delivered = 0
      yield* node.receiveWith({ deliver: () => delivered++, peer: () => {} })
      const peer = yield* Effect.promise(() => RawPeer.open(Option.getOrThrow(node.address)))
      yield* Effect.promise(() => RawPeer.join(peer, RawPeer.identity("sender"), SECRET, { window: WINDOW }))
      // every frame in one write of the socket under ws, so that the node reads them in one read
      const socket = (peer.socket as Ws & { readonly _socket: { cork(): void; uncork(): void } })._socket
      socket.cork()
      for (let frame = 0; frame < FRAMES; frame++) {
        const first = frame * PER_FRAME + 1
        const envelopes = Array.from({ length: PER_FRAME }, (_, i) => ({
          kind: "tell",
          to: { node: "receiver", path: "/sink" },
          payload: { n: first + i }
        }))
        peer.send({ type: "data", ack: 0, first, envelopes })
      }
      socket.uncork()
      const total = FRAMES * PER_FRAME
      const acks: Array<number> = []
      while ((acks.at(-1) ?? 0) < total) {
        const frame = yield* Effect.promise(() => peer.next({ all: true }))
        if (frame.type === "ack") acks.push(frame.ack as number)
      }
      assert.strictEqual(delivered, total)
      const steps = acks.map((ack, i) => ack - (i === 0 ? 0 : acks[i - 1]!))
      assert.isAtMost(
        Math.max(...steps),
        WINDOW / 2 + PER_FRAME - 1,
        `acks ${acks.join(", ")}: one covered more than half the window (${WINDOW / 2}) and a frame`
      )
    }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error"))
  )
})
