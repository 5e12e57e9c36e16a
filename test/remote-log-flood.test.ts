/**
 * A peer with the secret floods a node (a real `troupe node` process) with well-formed data frames whose envelopes
 * the node cannot use: tells its echo actor's protocol does not decode, and tells to actors that are not there. The
 * threat model (docs/transport.md) says a peer cannot raise the node's log lines: each is a counted dead letter, and
 * the warnings about that peer stay a few lines a second (`logLinesPerPeer`), while a well-behaved peer's asks keep
 * being answered.
 */
import { afterAll, describe, expect, it, vi } from "vitest"
import { stopAll } from "./support/child.ts"
import * as RawPeer from "./support/raw-peer.ts"
import { goodPeer, startTarget } from "./support/target-node.ts"

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 })

const ENVELOPES = 20_000
const PER_FRAME = 200

/** The node's warnings about `peer` (logfmt lines on its stderr). */
const about = (warnings: ReadonlyArray<string>, peer: string) =>
  warnings.filter((line) => line.includes(`from=${peer}`) || line.includes(`peer=${peer}`))

describe("a peer floods a node with envelopes it cannot use", () => {
  it("logs a few lines a second about it, not one per envelope (it logged one per undecodable tell)", async () => {
    const target = await startTarget()
    const good = await goodPeer(target)
    await good.progress(3)
    const flooder = await RawPeer.open(target.url)
    let acked = 0
    flooder.socket.on("message", (data) => {
      const frame = JSON.parse(String(data)) as { readonly ack?: unknown }
      if (typeof frame.ack === "number" && frame.ack > acked) acked = frame.ack
    })
    const { challenge } = await RawPeer.join(flooder, RawPeer.identity("flooder"), target.secret)
    const window = Number(challenge.window)
    const beat = setInterval(() => flooder.send({ type: "heartbeat" }), 300)
    const started = Date.now()
    try {
      for (let seq = 0; seq < ENVELOPES; seq += PER_FRAME) {
        // within the window the node advertised: it acknowledges what it took
        while (seq + PER_FRAME - acked > window) await new Promise((resolve) => setTimeout(resolve, 5))
        const envelopes = Array.from({ length: PER_FRAME }, (_, i) =>
          (seq + i) % 2 === 0
            ? { kind: "tell", to: { node: "target", path: "/user/echo" }, payload: { _tag: "Bogus", n: seq + i } }
            : { kind: "tell", to: { node: "target", path: `/user/nobody-${seq + i}` }, payload: { _tag: "Hi" } }
        )
        flooder.send({ type: "data", ack: 0, first: seq + 1, envelopes })
      }
      while (acked < ENVELOPES) await new Promise((resolve) => setTimeout(resolve, 10))
      // the node took every envelope; an answered ask after that says it dispatched them (in order on its loop)
      await good.progress(3)
    } finally {
      clearInterval(beat)
    }
    const seconds = (Date.now() - started) / 1000
    // what the node logs in the background is written once the lines stop coming
    let lines = about(target.warnings(), "flooder").length
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const now = about(target.warnings(), "flooder").length
      if (now === lines) break
      lines = now
    }
    const { failures } = await good.stop()
    expect(failures).toEqual([])
    // a line a second per peer for each kind (undecodable, refused), with a margin: not one per envelope
    expect(lines, about(target.warnings(), "flooder").slice(0, 5).join("\n")).toBeLessThanOrEqual(
      4 * Math.ceil(seconds + 3)
    )
    flooder.socket.close()
  })
})
