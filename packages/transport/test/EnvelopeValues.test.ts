/**
 * `maxEnvelopeValues`: the work an envelope costs its receiver is bounded by its count of JSON values, not its
 * bytes. The sender refuses a larger envelope with a typed error (every way an envelope is encoded); a receiver
 * refuses one that comes anyway (a peer with a higher limit, or a hostile one) before parsing it, with a
 * `bad-envelope` error frame, and delivers the rest of the frame; the link lives on.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, Option, PubSub, References } from "effect"
import * as RawPeer from "../../../test/support/raw-peer.ts"
import { ActorAddress, Envelope, InProcess, NodeId, type Transport, WebSocket } from "../src/index.ts"
import { fast } from "./support/harness.ts"

const to = ActorAddress.make(NodeId.make("hub"), "/sink")
/** An array payload of `n` values (itself and n - 1 numbers). */
const payload = (n: number) => Array.from({ length: n - 1 }, (_, i) => i % 10)
const tell = (data: unknown) => Envelope.make({ kind: "tell", to, payload: data as never })

const captured = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message, fiber }) => {
    const annotations = fiber.getRef(References.CurrentLogAnnotations)
    lines.push(`${logLevel} ${(message as ReadonlyArray<unknown>).join(" ")} ${JSON.stringify(annotations)}`)
  })
  return { lines, layer: Logger.layer([logger]) }
}

const received = (node: Transport.Service, count: number) =>
  Effect.gen(function* () {
    const out: Array<Envelope.Envelope> = []
    while (out.length < count) out.push(...(yield* node.receive).map((d) => d.envelope))
    return out
  })

describe("maxEnvelopeValues", () => {
  for (const kind of ["in-process", "websocket"] as const) {
    it.live(`${kind}: the sender refuses an envelope of more values, typed, however it is encoded`, () =>
      Effect.gen(function* () {
        const network = InProcess.makeNetwork()
        const make = (node: string, options: Transport.Options) =>
          kind === "in-process"
            ? InProcess.make(network, { ...fast, node, ...options })
            : WebSocket.make({ ...fast, node, ...options })
        const hub = yield* make("hub", { listen: { port: 0 } } as Transport.Options)
        const sender = yield* make("sender", { maxEnvelopeValues: 1000 })
        const peer = yield* sender.connect(kind === "in-process" ? "hub" : Option.getOrThrow(hub.address))
        const template = Envelope.template({ kind: "tell", to })
        for (const envelope of [tell(payload(2000)), Envelope.fill(template, payload(2000))]) {
          const error = yield* Effect.flip(sender.send(peer.node, envelope))
          assert.strictEqual(error._tag, "InvalidEnvelope")
          assert.strictEqual(error._tag === "InvalidEnvelope" && error.field, "payload")
          assert.match(error.message, /2\d{3} JSON values exceed the limit of 1000 per envelope \(maxEnvelopeValues\)/)
        }
        // at the limit, it goes (the envelope's own values count: itself, kind, to, its node and path)
        const fits = 1000 - 5
        yield* sender.send(peer.node, tell(payload(fits)))
        yield* sender.send(peer.node, Envelope.fill(template, payload(fits)))
        const [a, b] = yield* received(hub, 2)
        assert.deepStrictEqual([a!.payload, b!.payload], [payload(fits), payload(fits)])
        assert.isTrue(Option.isNone(yield* sender.send(peer.node, tell(payload(fits + 1))).pipe(Effect.option)))
      })
    )
  }

  it.live("a receiver refuses a wider envelope from a peer before parsing it; the rest arrives, the link lives", () =>
    Effect.gen(function* () {
      const hubLog = captured()
      const senderLog = captured()
      const hub = yield* WebSocket.make({ ...fast, node: "hub", listen: { port: 0 }, maxEnvelopeValues: 1000 }).pipe(
        Effect.provide(hubLog.layer)
      )
      const events = yield* hub.subscribe
      const sender = yield* WebSocket.make({ ...fast, node: "sender", maxEnvelopeValues: 100_000 }).pipe(
        Effect.provide(senderLog.layer)
      )
      const peer = yield* sender.connect(Option.getOrThrow(hub.address))
      yield* sender.send(peer.node, tell("before"))
      yield* sender.send(peer.node, tell(payload(70_000))) // 140 KB: alone in its frame
      yield* sender.send(peer.node, tell("after"))
      const got = yield* received(hub, 2)
      assert.deepStrictEqual(
        got.map((e) => e.payload),
        ["before", "after"]
      )
      // the sender hears of the refusal (an error frame)
      const refusal = (): string | undefined =>
        senderLog.lines.find((line) => line.startsWith("Warn") && line.includes("peer reported an error"))
      while (refusal() === undefined) yield* Effect.sleep(5)
      assert.match(refusal()!, /70005 JSON values exceed this node's limit of 1000 per envelope \(maxEnvelopeValues\)/)
      assert.match(refusal()!, /bad-envelope/)
      // the link is the same one, and goes on
      assert.deepStrictEqual(
        (yield* hub.peers).map((p) => p.incarnation),
        [sender.incarnation]
      )
      assert.deepStrictEqual(
        (yield* PubSub.takeAll(events)).map((e) => e._tag),
        ["PeerUp"]
      )
      yield* sender.send(peer.node, tell("later"))
      assert.deepStrictEqual(
        (yield* received(hub, 1)).map((e) => e.payload),
        ["later"]
      )
    })
  )

  it.live("a hostile peer's frame: the wide envelope in the middle is refused, those around it delivered", () =>
    Effect.gen(function* () {
      const hub = yield* WebSocket.make({ ...fast, node: "hub", listen: { port: 0 }, maxEnvelopeValues: 1000 })
      const raw = yield* Effect.promise(() => RawPeer.open(Option.getOrThrow(hub.address)))
      yield* Effect.promise(() => RawPeer.join(raw, RawPeer.identity("raw"), fast.secret as string))
      const text = (data: unknown) => JSON.stringify(tell(data))
      // frames of more than 120 KiB are counted (smaller ones are a sender's batches: see docs/transport.md); a string
      // full of brackets and commas is one value
      const tricky = `],{"kind":"tell",[[[,,,"\\"${",[]{}".repeat(2000)}`
      raw.send(
        Buffer.from(
          `{"type":"data","ack":0,"first":1,"envelopes":[${[text(1), text(payload(70_000)), text(tricky), text({ a: payload(900) })].join(",")}]}`
        )
      )
      const got = yield* received(hub, 3)
      assert.deepStrictEqual(
        got.map((e) => [e.seq, e.payload]),
        [
          [1, 1],
          [3, tricky],
          [4, { a: payload(900) }]
        ]
      )
      const error = yield* Effect.promise(() => RawPeer.nextWhere(raw, (frame) => frame.type === "error"))
      assert.deepInclude(error, { code: "bad-envelope", field: "payload", seq: 2 })
      assert.match(String(error.message), /^70005 JSON values exceed this node's limit of 1000/)
      // a frame whose own values exceed the limit (thousands of envelopes) is refused whole, unparsed
      raw.send(Buffer.from(`{"type":"data","ack":0,"first":5,"envelopes":[${Array(70_000).fill("0").join(",")}]}`))
      const whole = yield* Effect.promise(() => RawPeer.nextWhere(raw, (frame) => frame.type === "error"))
      assert.deepInclude(whole, { code: "bad-frame" })
      assert.match(String(whole.message), /a frame of 70005 JSON values; at most 1000/)
      raw.send(Buffer.from(`{"type":"data","ack":0,"first":5,"envelopes":[${text("next")}]}`))
      assert.deepStrictEqual(
        (yield* received(hub, 1)).map((e) => [e.seq, e.payload]),
        [[5, "next"]]
      )
    })
  )

  it.live("a peer parsing a wide envelope this node sent may be silent longer, until it acknowledges it", () =>
    Effect.gen(function* () {
      // a strict detector: 600 ms without a heartbeat is down
      const hub = yield* WebSocket.make({ ...fast, node: "hub", listen: { port: 0 } })
      const events = yield* hub.subscribe
      const join = (name: string) =>
        Effect.gen(function* () {
          const raw = yield* Effect.promise(() => RawPeer.open(Option.getOrThrow(hub.address)))
          yield* Effect.promise(() => RawPeer.join(raw, RawPeer.identity(name), fast.secret as string))
          const beat = setInterval(() => raw.send({ type: "heartbeat" }), 50)
          yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(beat)))
          return { raw, silence: () => clearInterval(beat) }
        })
      const downs = () =>
        Effect.map(PubSub.takeAll(events), (all) => all.filter((e) => e._tag === "PeerDown").map((e) => e.node))
      const to = (node: string) => ActorAddress.make(NodeId.make(node), "/sink")
      // silent 1.2 s after a 45,000-value envelope (1.35 s of grace): still up; it acknowledges, and is up
      const busy = yield* join("busy")
      yield* hub.send(NodeId.make("busy"), Envelope.make({ kind: "tell", to: to("busy"), payload: payload(45_000) }))
      const data = yield* Effect.promise(() => RawPeer.nextWhere(busy.raw, (f) => f.type === "data"))
      busy.silence()
      yield* Effect.sleep(1200)
      busy.raw.send({ type: "ack", ack: data.first as number })
      busy.raw.send({ type: "heartbeat" })
      yield* Effect.sleep(100)
      assert.deepStrictEqual(yield* downs(), [])
      // once acknowledged, silence is judged as usual: down
      while ((yield* hub.peers).some((p) => p.node === "busy")) yield* Effect.sleep(10)
      // without a wide envelope, the same silence is down (what the grace prevented above)
      const idle = yield* join("idle")
      yield* hub.send(NodeId.make("idle"), Envelope.make({ kind: "tell", to: to("idle"), payload: payload(10) }))
      yield* Effect.promise(() => RawPeer.nextWhere(idle.raw, (f) => f.type === "data"))
      idle.silence()
      const silent = Date.now()
      while ((yield* hub.peers).some((p) => p.node === "idle")) yield* Effect.sleep(10)
      console.log(`idle declared down ${Date.now() - silent} ms after it fell silent`)
    })
  )
})
