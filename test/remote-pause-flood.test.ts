/**
 * A peer with the secret sends `pause` system messages (flow control: "my actor's mailbox is full, hold your sends
 * to it") for paths it makes up, and never a `resume`. The node keeps one entry per (peer, path) until the peer goes
 * down: a peer can grow its memory without bound (200,000 pauses for paths of 100 characters: ~50 MB of heap kept).
 * The node keeps at most `maxParked` paused paths per peer node (an honest peer never pauses more: it pauses a
 * path only while it holds an envelope of ours parked, at most `maxParked` of them).
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Effect, Option, References } from "effect"
import { heapUsed } from "./support/heap.ts"
import * as RawPeer from "./support/raw-peer.ts"

const SECRET = "a pause flood test secret"
const PAUSES = 200_000
const PER_FRAME = 500

describe("a peer pauses sends to actors it makes up", () => {
  it.live(
    "the node's memory stays bounded (was: one entry kept per made-up path, ~50 MB for 200,000)",
    () =>
      Effect.gen(function* () {
        const transport = yield* WebSocket.make({
          node: "target",
          secret: SECRET,
          listen: { port: 0, host: "127.0.0.1" }
        })
        yield* ActorSystem.make({ name: "target" }).pipe(Effect.provideService(Transport.Transport, transport))
        const raw = yield* Effect.promise(() => RawPeer.open(Option.getOrThrow(transport.address)))
        let acked = 0
        raw.socket.on("message", (data) => {
          const frame = JSON.parse(String(data)) as { readonly ack?: unknown }
          if (typeof frame.ack === "number" && frame.ack > acked) acked = frame.ack
        })
        const { challenge } = yield* Effect.promise(() => RawPeer.join(raw, RawPeer.identity("pauser"), SECRET))
        const window = Number(challenge.window)
        const beat = setInterval(() => raw.send({ type: "heartbeat" }), 300)
        yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(beat)))
        const before = yield* heapUsed
        yield* Effect.promise(async () => {
          for (let seq = 0; seq < PAUSES; seq += PER_FRAME) {
            while (seq + PER_FRAME - acked > window) await new Promise((resolve) => setTimeout(resolve, 5))
            const envelopes = Array.from({ length: PER_FRAME }, (_, i) => ({
              kind: "system",
              to: { node: "target", path: "/system" },
              payload: { type: "pause", path: `/user/made-up-${seq + i}-${"z".repeat(80)}` }
            }))
            raw.send({ type: "data", ack: 0, first: seq + 1, envelopes })
          }
          while (acked < PAUSES) await new Promise((resolve) => setTimeout(resolve, 10))
        })
        const after = yield* heapUsed
        assert.isBelow(after - before, 8 * 1024 * 1024, `the heap grew by ${after - before} bytes for ${PAUSES} pauses`)
      }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
