/**
 * How a node cuts what it sends into `data` frames: at most a quarter of the window and 120 KiB of envelopes per
 * frame, and a full frame is written at once, inside the turn that queued it, so the peer decodes one frame
 * while the node encodes the next; what waits while the socket's buffer is full goes out once it drains. Seen from a raw peer that reads every frame the node writes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as RawPeer from "../../../test/support/raw-peer.ts"
import { ActorAddress, Envelope, NodeId, type Transport, WebSocket } from "../src/index.ts"
import { FRAME_BYTES } from "../src/internal/linkLimits.ts"
import { eventually, fast } from "./support/harness.ts"

const WINDOW = 64
const reader = NodeId.make("reader")

const tick = (n: number, padding = "") =>
  Envelope.make({ kind: "tell", to: ActorAddress.make(reader, "/user/sink"), payload: { _tag: "Tick", n, padding } })

/** A node with a raw peer linked to it; the peer advertises a window of `WINDOW` envelopes. */
const linked = Effect.gen(function* () {
  const node = yield* WebSocket.make({
    ...fast,
    // the raw peer sends no heartbeats
    failureDetector: { _tag: "Timeout", timeout: "1 minute" },
    node: "writer",
    listen: { port: 0 }
  })
  const peer = yield* Effect.acquireRelease(
    Effect.promise(() => RawPeer.open(Option.getOrThrow(node.address))),
    (peer) => Effect.sync(() => peer.socket.terminate())
  )
  yield* Effect.promise(() => RawPeer.join(peer, RawPeer.identity("reader"), fast.secret as string, { window: WINDOW }))
  yield* eventually(node.peers, (peers) => peers.length === 1)
  return { node, peer }
})

/** Reads data frames until `count` envelopes came, acknowledging each frame; returns the frames. */
const readData = (peer: RawPeer.RawPeer, count: number) =>
  Effect.promise(async () => {
    const frames: Array<{ readonly first: number; readonly envelopes: ReadonlyArray<Envelope.Envelope> }> = []
    let received = 0
    while (received < count) {
      const frame = await RawPeer.nextWhere(peer, (f) => f.type === "data")
      const data = frame as unknown as (typeof frames)[number]
      frames.push(data)
      received += data.envelopes.length
      peer.send({ type: "ack", ack: data.first + data.envelopes.length - 1 })
    }
    return frames
  })

const framesOut = (node: Transport.Service) => Effect.runSync(node.stats).framesOut

describe("data frames", () => {
  it.live("sends queued in one turn go out in frames of at most a quarter window, each written once full", () =>
    Effect.gen(function* () {
      const { node, peer } = yield* linked
      const before = framesOut(node)
      // one synchronous turn fills the window (the peer's) and queues twice as much behind it
      const written: Array<number> = []
      let admitted = 0
      const done = (error: unknown) => {
        assert.isUndefined(error)
        admitted++
      }
      for (let n = 1; n <= 3 * WINDOW; n++) {
        // a send that must wait hears of its admission through `done`, or through `onDone` given after
        const result = n % 2 === 0 ? node.offer(reader, tick(n), done) : node.offer(reader, tick(n))
        assert.isTrue(n <= WINDOW ? result === undefined : typeof result === "function")
        if (n % 2 === 1 && typeof result === "function") result.onDone(done)
        if (n <= WINDOW) written.push(framesOut(node) - before)
      }
      // the first envelope went out alone (an idle socket); then a frame each time a quarter window waited
      assert.deepStrictEqual(
        [written[0], written[WINDOW / 4], written[WINDOW / 2], written[(3 * WINDOW) / 4], written[WINDOW - 1]],
        [1, 2, 3, 4, 4]
      )
      const frames = yield* readData(peer, 3 * WINDOW)
      for (const frame of frames) assert.isAtMost(frame.envelopes.length, WINDOW / 4)
      const ns = frames.flatMap((frame) => frame.envelopes.map((e) => (e.payload as { n: number }).n))
      assert.deepStrictEqual(
        ns,
        Array.from({ length: 3 * WINDOW }, (_, i) => i + 1)
      )
      assert.strictEqual(admitted, 2 * WINDOW)
    }).pipe(Effect.scoped)
  )

  it.live("sends streaming over several turns go out a turn's worth per frame, none alone after the first", () =>
    Effect.gen(function* () {
      const { node, peer } = yield* linked
      for (let turn = 0; turn < 3; turn++) {
        for (let n = 1; n <= 10; n++) assert.isUndefined(node.offer(reader, tick(turn * 10 + n), () => {}))
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      }
      const frames = yield* readData(peer, 30)
      // the socket is idle at the start of each turn, but only the very first send goes out alone
      assert.deepStrictEqual(
        frames.map((frame) => frame.envelopes.length),
        [1, 9, 10, 10]
      )
    }).pipe(Effect.scoped)
  )

  it.live(`a frame holds at most ${FRAME_BYTES / 1024} KiB of envelopes, and is written once full`, () =>
    Effect.gen(function* () {
      const { node, peer } = yield* linked
      const padding = "x".repeat(Math.floor(FRAME_BYTES * 0.4))
      const before = framesOut(node)
      for (let n = 1; n <= 12; n++) assert.isUndefined(node.offer(reader, tick(n, padding), () => {}))
      // in the same turn: the first alone, then each full frame (two of these envelopes; a third would not fit)
      assert.strictEqual(framesOut(node) - before, 6)
      const frames = yield* readData(peer, 12)
      for (const frame of frames) assert.isAtMost(Buffer.byteLength(JSON.stringify(frame)), FRAME_BYTES + 200)
      assert.deepStrictEqual(
        frames.map((frame) => frame.envelopes.length),
        [1, 2, 2, 2, 2, 2, 1]
      )
    }).pipe(Effect.scoped)
  )

  it.live("what waits behind a frame too big for the socket's buffer goes out once the socket drains", () =>
    Effect.gen(function* () {
      const { node, peer } = yield* linked
      // a peer that reads slowly: frames of 2 MiB fill the OS buffers, then one stays in the socket's own buffer,
      // more than the 64 KiB the link writes into, so the last (small) envelope waits for the socket to drain.
      // Nothing is sent after it: the drain alone must write it (a link that waited for the next send held it for
      // ever: an ask after a large tell timed out)
      peer.socket.pause()
      const big = "x".repeat(2 * 1024 * 1024)
      let n = 0
      for (let written = true; written && n < 32; ) {
        const before = framesOut(node)
        assert.isUndefined(node.offer(reader, tick(++n, big), () => {}))
        written = framesOut(node) > before
      }
      assert.isBelow(n, 32, "the socket's buffer never filled")
      assert.isUndefined(node.offer(reader, tick(++n), () => {}))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      peer.socket.resume()
      const frames = yield* Effect.promise(async () => {
        const frames: Array<RawPeer.Frame> = []
        for (let received = 0; received < n; ) {
          const frame = await RawPeer.nextWhere(peer, (f) => f.type === "data")
          frames.push(frame)
          const { first, envelopes } = frame as unknown as { first: number; envelopes: ReadonlyArray<unknown> }
          received += envelopes.length
          peer.send({ type: "ack", ack: first + envelopes.length - 1 })
        }
        return frames as unknown as ReadonlyArray<{ readonly envelopes: ReadonlyArray<Envelope.Envelope> }>
      }).pipe(
        Effect.timeoutOrElse({
          duration: "20 seconds",
          orElse: () => Effect.die(new Error("the envelopes behind the large ones were not written within 20 s"))
        })
      )
      assert.deepStrictEqual(
        frames.flatMap((frame) => frame.envelopes.map((e) => (e.payload as { n: number }).n)),
        Array.from({ length: n }, (_, i) => i + 1)
      )
    }).pipe(Effect.scoped)
  )

  it.live(
    "a frame carries each envelope's exact JSON: templated or not, its payload's JSON given, written or not, any UTF-8",
    () =>
      Effect.gen(function* () {
        const { node, peer } = yield* linked
        const to = ActorAddress.make(reader, "/user/café")
        const ticks = Envelope.template({ kind: "tell", to, from: ActorAddress.make(NodeId.make("writer"), "/user/ü") })
        const plain = Envelope.template({ kind: "tell", to })
        const made: Array<Envelope.Envelope> = []
        const writeJson: Envelope.PayloadWriter = (payload, into, at, end) => {
          if ((payload as { n: number }).n % 8 === 1) return -2
          const text = JSON.stringify(payload)
          return at + Buffer.byteLength(text) > end ? -1 : at + into.write(text, at, "utf8")
        }
        for (let n = 1; n <= 3 * WINDOW; n++) {
          // payloads of up to ~6,000 characters, some beyond ASCII: frames of several thousand characters, many envelopes
          const payload = { _tag: "Tick", n, text: (n % 3 === 0 ? "€😀" : "x").repeat((n * 37) % 2000) }
          const json = JSON.stringify(payload)
          const envelope =
            n % 4 === 0
              ? Envelope.make({ kind: "tell", to, payload })
              : Envelope.fill(n % 4 === 2 ? plain : ticks, payload)
          made.push(Envelope.make({ ...envelope, payload }))
          const done = (error: unknown) => assert.isUndefined(error)
          // JSON given with its bytes, given alone (the transport counts them), written by the caller (who declines
          // some), or not given
          if (n % 4 === 2) node.offer(reader, envelope, done, json, Buffer.byteLength(json))
          else if (n % 4 === 3) node.offer(reader, envelope, done, json)
          else if (n % 4 === 1) node.offer(reader, envelope, done, writeJson)
          else node.offer(reader, envelope, done)
        }
        const frames = yield* readData(peer, 3 * WINDOW)
        assert.deepStrictEqual(
          frames.flatMap((frame) => frame.envelopes.map(({ seq: _, ...envelope }) => envelope)),
          made
        )
      }).pipe(Effect.scoped)
  )
})
