/**
 * A peer with the secret sends `pause` system messages (flow control: "my actor's mailbox is full, hold your sends
 * to it") for paths it makes up, and never a `resume`. The node keeps one entry per (peer, path) until the peer goes
 * down: a peer can grow its memory without bound (200,000 pauses for paths of 100 characters: ~50 MB of heap kept).
 * The node keeps at most `maxParked` paused paths per peer node (an honest peer never pauses more: it pauses a
 * path only while it holds an envelope of ours parked, at most `maxParked` of them).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, References } from "effect"
import { heapUsed } from "./support/heap.ts"
import * as PeerFlood from "./support/peer-flood.ts"

const SECRET = "a pause flood test secret"
const PAUSES = 200_000
const PER_FRAME = 500

describe("a peer pauses sends to actors it makes up", () => {
  it.live(
    "the node's memory stays bounded (was: one entry kept per made-up path, ~50 MB for 200,000)",
    () =>
      Effect.gen(function* () {
        const { join } = yield* PeerFlood.floodTarget(SECRET)
        const peer = yield* join("pauser")
        const before = yield* heapUsed
        yield* Effect.promise(() =>
          peer.send(
            PAUSES,
            (n) => ({
              kind: "system",
              to: { node: "target", path: "/system" },
              payload: { type: "pause", path: `/user/made-up-${n}-${"z".repeat(80)}` }
            }),
            PER_FRAME
          )
        )
        const after = yield* heapUsed
        assert.isBelow(after - before, 8 * 1024 * 1024, `the heap grew by ${after - before} bytes for ${PAUSES} pauses`)
      }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
