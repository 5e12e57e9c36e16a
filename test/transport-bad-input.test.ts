/**
 * A hostile wire: a raw `ws` client sends garbage, truncated, oversized and wrong-schema frames and
 * tries wrong or missing tokens. Each gets the documented error frame or close code, nothing
 * crashes, and a well-behaved peer connected to the same node keeps exchanging envelopes throughout.
 */

import { assert, describe, it } from "@effect/vitest"
import { ActorAddress, CloseCode, Envelope, Frame, NodeId, type Transport, WebSocket } from "@troupe/transport"
import { Deferred, Effect, Fiber, Logger, Option, References } from "effect"
import { WebSocket as RawSocket } from "ws"
import * as RawPeer from "./support/raw-peer.ts"

const SECRET = "correct horse battery staple"
const MAX_FRAME = 64 * 1024

type Parsed = Record<string, unknown>

/**
 * A raw WebSocket client that records the frames and the close it gets. Reads are by frame type: a link
 * also sends acks and heartbeats whenever it likes, in between the frames a test means to read.
 */
interface Raw {
  readonly send: (data: string | Buffer) => void
  /** The next frame of this type the node sent, parsed; frames of other types stay unread. */
  readonly next: (type: string) => Effect.Effect<Parsed>
  /** The types of the frames not read yet. */
  readonly unread: () => ReadonlyArray<unknown>
  readonly closed: Effect.Effect<{ readonly code: number; readonly reason: string }>
  readonly isOpen: () => boolean
}

/** Frames a node sends on its own schedule (acks, heartbeats, membership gossip), which a test may leave unread. */
const background = ["ack", "heartbeat", "members"]

const raw = (url: string) =>
  Effect.acquireRelease(
    Effect.callback<Raw>((resume) => {
      const socket = new RawSocket(url)
      const frames: Array<Parsed> = []
      const waiting: Array<{ readonly type: string; readonly done: (frame: Parsed) => void }> = []
      let close: { code: number; reason: string } | undefined
      const onClose: Array<() => void> = []
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data)) as Parsed
        const i = waiting.findIndex((waiter) => waiter.type === frame.type)
        if (i >= 0) waiting.splice(i, 1)[0]!.done(frame)
        else frames.push(frame)
      })
      socket.on("close", (code, reason) => {
        close = { code, reason: reason.toString() }
        for (const f of onClose) f()
      })
      socket.on("error", () => {})
      socket.on("open", () =>
        resume(
          Effect.succeed({
            send: (data) => socket.send(data),
            next: (type) =>
              Effect.callback((done) => {
                const i = frames.findIndex((frame) => frame.type === type)
                if (i >= 0) done(Effect.succeed(frames.splice(i, 1)[0]!))
                else waiting.push({ type, done: (frame) => done(Effect.succeed(frame)) })
              }),
            unread: () => frames.map((frame) => frame.type),
            closed: Effect.callback((done) => {
              if (close) done(Effect.succeed(close))
              else onClose.push(() => done(Effect.succeed(close!)))
            }),
            isOpen: () => socket.readyState === RawSocket.OPEN
          })
        )
      )
    }),
    () => Effect.void
  )

const bin = (value: unknown) => Buffer.from(JSON.stringify(value))

const hello = (node: string, extra: Record<string, unknown> = {}) =>
  RawPeer.hello(RawPeer.identity(node, NodeId.makeIncarnation()), {
    protocol: Frame.PROTOCOL_VERSION,
    maxFrameBytes: MAX_FRAME,
    window: 64,
    ...extra
  })

/** Sends a hello as `who`, takes the challenge and answers it with a proof made with `secret`. */
const handshake = (peer: Raw, who: RawPeer.Identity, secret: string) =>
  Effect.gen(function* () {
    const first = RawPeer.hello(who, { maxFrameBytes: MAX_FRAME, window: 64 })
    peer.send(bin(first))
    const challenge = yield* peer.next("challenge")
    assert.deepInclude(challenge, { type: "challenge", node: "target" })
    peer.send(bin({ type: "proof", proof: RawPeer.mac(RawPeer.handshakeKey(secret, who, first, challenge), "dialer") }))
  })

const tellTo = (node: string, n: number) =>
  Envelope.make({ kind: "tell", to: ActorAddress.make(NodeId.make(node), "/sink"), payload: { n } })

/** The well-behaved peer: sends `count` envelopes to the target, one every millisecond or so. */
const steadyTraffic = (from: Transport.Service, to: string, count: number) =>
  Effect.gen(function* () {
    for (let n = 1; n <= count; n++) {
      yield* from.send(NodeId.make(to), tellTo(to, n))
      if (n % 10 === 0) yield* Effect.sleep(1)
    }
  })

describe("a hostile wire", () => {
  it.live("answers every bad frame as documented while a good peer keeps working", () =>
    Effect.gen(function* () {
      const logged: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        logged.push(`${logLevel} ${(message as ReadonlyArray<unknown>).join(" ")}`)
      })
      const node = yield* WebSocket.make({
        node: "target",
        secret: SECRET,
        listen: { port: 0 },
        maxFrameBytes: MAX_FRAME,
        heartbeatInterval: "100 millis",
        failureDetector: { _tag: "Timeout", timeout: "2 seconds" }
      }).pipe(Effect.provide(Logger.layer([capture])))
      const url = Option.getOrThrow(node.address)
      const good = yield* WebSocket.make({ node: "good", secret: SECRET, heartbeatInterval: "100 millis" }).pipe(
        Effect.provideService(References.MinimumLogLevel, "Error")
      )
      yield* good.connect(url)
      const traffic = yield* Effect.forkChild(steadyTraffic(good, "target", 2000))
      const fromGood: Array<number> = []
      const fromRaw: Array<unknown> = []
      const allFromGood = Deferred.makeUnsafe<void>()
      const consumer = yield* Effect.forkChild(
        Effect.forever(
          Effect.map(node.receive, (batch) => {
            for (const d of batch) {
              if (d.from === "good") fromGood.push((d.envelope.payload as { readonly n: number }).n)
              else fromRaw.push(d.envelope.payload)
            }
            if (fromGood.length >= 2000) Deferred.doneUnsafe(allFromGood, Effect.void)
          })
        )
      )

      // before the handshake: garbage, truncated and wrong-schema frames get error frames; the socket stays open
      const anonymous = yield* raw(url)
      anonymous.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]))
      assert.deepInclude(yield* anonymous.next("error"), { type: "error", code: "bad-frame", field: "" })
      anonymous.send(bin(hello("x")).subarray(0, 20))
      const truncated = yield* anonymous.next("error")
      assert.deepInclude(truncated, { type: "error", code: "bad-frame" })
      assert.match(String(truncated.message), /not valid JSON/)
      anonymous.send("a text frame")
      assert.match(String((yield* anonymous.next("error")).message), /text frames/)
      anonymous.send(bin({ type: "ack", ack: 1 }))
      assert.deepInclude(yield* anonymous.next("error"), { type: "error", code: "unexpected-frame", field: "type" })
      assert.isTrue(anonymous.isOpen())
      assert.deepStrictEqual(anonymous.unread(), [])
      // a hello with a field of the wrong type: its error frame, then refused for good (no other hello can follow)
      const misnamed = yield* raw(url)
      misnamed.send(bin({ ...hello("x"), node: 42 }))
      assert.deepInclude(yield* misnamed.next("error"), { type: "error", code: "bad-frame", field: "node" })
      const closed = yield* misnamed.closed
      assert.strictEqual(closed.code, CloseCode.VersionMismatch)
      assert.match(closed.reason, /^its hello is not one protocol \d+ accepts: node: /)

      // an oversized frame closes the socket with 1009
      const big = yield* raw(url)
      big.send(Buffer.alloc(MAX_FRAME + 1, 0x20))
      assert.strictEqual((yield* big.closed).code, CloseCode.TooBig)

      // a wrong secret, a forged proof, a wrong protocol: refused with the documented codes
      const wrongSecret = yield* raw(url)
      yield* handshake(wrongSecret, RawPeer.identity("intruder"), "a guess that is long enough")
      const refusal = {
        code: CloseCode.Unauthorized,
        reason: "wrong secret: the proof does not match this node's secret"
      }
      assert.deepStrictEqual(yield* wrongSecret.closed, refusal)
      const forged = yield* raw(url)
      forged.send(bin(hello("intruder")))
      assert.deepInclude(yield* forged.next("challenge"), { type: "challenge" })
      forged.send(bin({ type: "proof", proof: "A".repeat(43) }))
      assert.deepStrictEqual(yield* forged.closed, refusal)
      const future = yield* raw(url)
      future.send(bin(hello("time-traveller", { protocol: 99 })))
      assert.strictEqual((yield* future.closed).code, CloseCode.VersionMismatch)

      // after a good handshake: bad envelopes are answered one by one, the good ones delivered
      const insider = yield* raw(url)
      yield* handshake(insider, RawPeer.identity("insider"), SECRET)
      assert.deepInclude(yield* insider.next("welcome"), { type: "welcome", received: 0 })
      const envelopes = [
        tellTo("target", 1),
        { kind: "shout", to: { node: "target", path: "/sink" }, payload: 2 },
        tellTo("elsewhere", 3),
        tellTo("target", 4)
      ]
      insider.send(bin({ type: "data", ack: 0, first: 1, envelopes }))
      const errors = [yield* insider.next("error"), yield* insider.next("error")]
      assert.deepInclude(errors[0], { type: "error", code: "bad-envelope", field: "kind", seq: 2 })
      assert.deepInclude(errors[1], { type: "error", code: "misaddressed", field: "to.node", seq: 3 })
      insider.send(bin({ type: "data", ack: 7, first: 3 })) // no envelopes: wrong schema
      assert.deepInclude(yield* insider.next("error"), { type: "error", code: "bad-frame", field: "envelopes" })
      insider.send(Buffer.from("{]"))
      assert.deepInclude(yield* insider.next("error"), { type: "error", code: "bad-frame" })
      assert.isTrue(insider.isOpen())
      // nothing else was said to the insider but acks, heartbeats and gossip
      assert.includeMembers(background, [...insider.unread()])
      // a sequence gap breaks the link protocol: the connection is closed (the link would resend)
      insider.send(bin({ type: "data", ack: 0, first: 10, envelopes: [tellTo("target", 10)] }))
      assert.strictEqual((yield* insider.closed).code, CloseCode.ProtocolError)
      // the insider's link outlives its connection (until the detector's 2 s declare the silent peer down: under
      // load the good peer's traffic below can take longer, so the links are read here)
      const linked = (yield* node.stats).links.map((link) => link.node)

      // the good peer never noticed
      yield* Fiber.join(traffic)
      yield* Deferred.await(allFromGood)
      yield* Fiber.interrupt(consumer)
      assert.deepStrictEqual(
        fromGood,
        Array.from({ length: 2000 }, (_, i) => i + 1)
      )
      assert.deepStrictEqual(fromRaw, [{ n: 1 }, { n: 4 }])
      const stats = yield* node.stats
      // 5 before the handshake, 1 oversized, 2 envelopes, 2 frames after it, 1 gap
      assert.strictEqual(stats.badFrames, 11)
      assert.strictEqual(stats.refused, 4)
      // every bad frame and refusal was logged
      assert.strictEqual(logged.filter((line) => line === "Warn bad frame").length, 10)
      assert.strictEqual(logged.filter((line) => line === "Warn protocol violation").length, 1)
      assert.strictEqual(logged.filter((line) => line === "Warn connection refused").length, 4)
      assert.deepStrictEqual(linked, ["good", "insider"])
      assert.isTrue(stats.links.every((link) => link.node !== "good" || link.connected))
    })
  )
})
