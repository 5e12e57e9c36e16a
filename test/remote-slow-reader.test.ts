/**
 * A peer that completes the handshake, keeps sending heartbeats, and never reads (a slow-loris reader, or a
 * one-way stalled network path): what the sender holds for it. The link's resend buffer is bounded in envelopes
 * (`resendBuffer.capacity`, 8192), not in bytes, so with payloads of 100 KB the sender accepts every tell up to the
 * window and holds all of them (and their frames): with the defaults up to 8192 × `maxFrameBytes` (32 GB) before
 * `send` waits. Expected: a byte budget as well, past which `send` waits (or fails with `overflow: "fail"`).
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorAddress, Envelope, NodeId, WebSocket } from "@troupe/transport"
import { Effect, Option, References } from "effect"
import * as RawPeer from "./support/raw-peer.ts"

const SECRET = "a slow reader test secret"
const PAYLOAD = 100 * 1024
const COUNT = 2000
/** What a sender may hold for one peer that acknowledges nothing (a generous budget: 64 MB). */
const BUDGET = 64 * 1024 * 1024

describe("a peer that never reads", () => {
  it.live.skip(
    "the sender stops accepting tells for it once a byte budget is unacknowledged (BOARD: resend buffer bounded in envelopes only)",
    () =>
      Effect.gen(function* () {
        const node = yield* WebSocket.make({ node: "sender", secret: SECRET, listen: { port: 0, host: "127.0.0.1" } })
        const reader = yield* Effect.promise(() => RawPeer.open(Option.getOrThrow(node.address)))
        yield* Effect.promise(() => RawPeer.join(reader, RawPeer.identity("reader"), SECRET))
        reader.socket.pause() // reads nothing from now on, acknowledges nothing
        const beat = setInterval(() => reader.send({ type: "heartbeat" }), 300)
        yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(beat)))
        const blob = "x".repeat(PAYLOAD)
        const to = ActorAddress.make(NodeId.make("reader"), "/sink")
        let accepted = 0
        yield* Effect.forkChild(
          Effect.gen(function* () {
            for (let i = 0; i < COUNT; i++) {
              yield* node.send(NodeId.make("reader"), Envelope.make({ kind: "tell", to, payload: { i, blob } }))
              accepted++
            }
          })
        )
        // until every tell was accepted, or the sender waits for room (no tell accepted for a second)
        let last = -1
        while (accepted < COUNT && accepted !== last) {
          last = accepted
          yield* Effect.sleep("1 second")
        }
        assert.isAtMost(
          accepted * PAYLOAD,
          BUDGET,
          `the sender accepted ${accepted} tells of ${PAYLOAD} B for a peer that acknowledged none`
        )
      }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
