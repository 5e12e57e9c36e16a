/**
 * A peer with the secret floods a node (a real `troupe node` process) with well-formed data frames the node cannot
 * use: tells its echo actor's protocol does not decode, tells to actors that are not there, and asks whose replies
 * exceed the frame limit the peer declared in its hello. The threat model (docs/transport.md) says a peer cannot
 * raise the node's log lines: each is counted (a dead letter, or an error reply to the ask), and the lines about
 * that peer stay about one a second per kind, while a well-behaved peer's asks keep being answered.
 */
import { afterAll, describe, expect, it, vi } from "vitest"
import { stopAll } from "./support/child.ts"
import * as RawPeer from "./support/raw-peer.ts"
import { goodPeer, startTarget, type Target } from "./support/target-node.ts"

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 })

const PER_FRAME = 20

/** The node's warnings and errors about `peer` (logfmt lines on its stderr). */
const about = (target: Target, peer: string) =>
  target.warnings().filter((line) => / (from|peer|to)=/.test(line) && line.includes(`=${peer} `))

/**
 * Joins as `peer` (hello fields overridden by `hello`), sends `count` envelopes made by `envelope` within the
 * node's window, acknowledging what the node sends, until the node took them all; answers how long it took and
 * the lines the node logged about the peer once they stop coming.
 */
const flood = async (
  target: Target,
  peer: string,
  count: number,
  envelope: (n: number) => unknown,
  hello: RawPeer.Frame = {}
) => {
  const raw = await RawPeer.open(target.url)
  let acked = 0
  let received = 0
  raw.socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as {
      readonly type?: string
      readonly ack?: unknown
      readonly first?: number
      readonly envelopes?: ReadonlyArray<unknown>
    }
    if (typeof frame.ack === "number" && frame.ack > acked) acked = frame.ack
    if (frame.type === "data" && frame.first !== undefined && frame.envelopes !== undefined) {
      received = frame.first + frame.envelopes.length - 1
      raw.send({ type: "ack", ack: received })
    }
  })
  const { challenge } = await RawPeer.join(raw, RawPeer.identity(peer), target.secret, hello)
  const window = Number(challenge.window)
  const beat = setInterval(() => raw.send({ type: "heartbeat" }), 300)
  const started = Date.now()
  try {
    for (let seq = 0; seq < count; seq += PER_FRAME) {
      // within the window the node advertised: it acknowledges what it took
      while (seq + PER_FRAME - acked > window) await new Promise((resolve) => setTimeout(resolve, 5))
      const envelopes = Array.from({ length: PER_FRAME }, (_, i) => envelope(seq + i))
      raw.send({ type: "data", ack: received, first: seq + 1, envelopes })
    }
    while (acked < count) await new Promise((resolve) => setTimeout(resolve, 10))
  } finally {
    clearInterval(beat)
  }
  const seconds = (Date.now() - started) / 1000
  // what the node logs in the background is written once the lines stop coming
  let lines = about(target, peer).length
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const now = about(target, peer).length
    if (now === lines) break
    lines = now
  }
  raw.socket.close()
  return { seconds, lines }
}

describe("a peer floods a node with envelopes it cannot use", () => {
  it("undecodable tells and tells to no actor: a line a second, not one per envelope (was one per bad tell)", async () => {
    const target = await startTarget()
    const good = await goodPeer(target)
    await good.progress(3)
    const { seconds, lines } = await flood(target, "flooder", 20_000, (n) =>
      n % 2 === 0
        ? { kind: "tell", to: { node: "target", path: "/user/echo" }, payload: { _tag: "Bogus", n } }
        : { kind: "tell", to: { node: "target", path: `/user/nobody-${n}` }, payload: { _tag: "Hi" } }
    )
    // an answered ask after the flood: the node dispatched it (in order on its loop) and still serves
    await good.progress(3)
    const { failures } = await good.stop()
    expect(failures).toEqual([])
    // a line a second per peer for each kind (undecodable, refused), with a margin
    expect(lines, about(target, "flooder").slice(0, 5).join("\n")).toBeLessThanOrEqual(4 * Math.ceil(seconds + 3))
  })

  it("asks whose replies exceed the asker's frame limit: a line a second (was one ERROR per ask)", async () => {
    const target = await startTarget()
    const text = "y".repeat(5000)
    const { seconds, lines } = await flood(
      target,
      "small",
      2000,
      (n) => ({
        kind: "ask",
        correlationId: `c${n}`,
        to: { node: "target", path: "/user/echo" },
        from: { node: "small", path: "/me" },
        payload: { _tag: "Echo", text }
      }),
      { maxFrameBytes: 4096 }
    )
    expect(lines, about(target, "small").slice(0, 5).join("\n")).toBeLessThanOrEqual(4 * Math.ceil(seconds + 3))
  })
})
