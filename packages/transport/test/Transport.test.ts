/**
 * The behaviour every transport must have, run against both: in process and over WebSocket.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric } from "effect"
import { ActorAddress, Envelope, NodeId, Peer, TransportError, TransportMetrics } from "../src/index.ts"
import {
  awaitEvent,
  eventually,
  type Harness,
  inProcess,
  type Node,
  watchedPair,
  webSocket
} from "./support/harness.ts"
import { expectError, linkTo, range, receiveMany, sendMany, tell } from "./support/traffic.ts"

/** Nodes a (a window of 8) and b, linked; a's window full with 1 to 8 and a ninth send waiting for room. */
const fullWindow = (make: () => Harness) =>
  Effect.gen(function* () {
    const h = make()
    const a = yield* h.node("a", { resendBuffer: { capacity: 8 } })
    const b = yield* h.node("b")
    yield* h.connect(a, b)
    yield* sendMany(a, b, 8)
    const ninth = yield* Effect.forkChild(sendMany(a, b, 1, 9))
    yield* eventually(linkTo(a, "b"), (link) => link?.waiting === 1)
    return { a, b, ninth }
  })

const suite = (make: () => Harness) =>
  describe(make().kind, () => {
    it.live("delivers in order and exactly once, both ways", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a")
        const b = yield* h.node("b")
        const peer = yield* h.connect(a, b)
        assert.strictEqual(peer.node, "b")
        assert.strictEqual(peer.incarnation, b.transport.incarnation)
        const [toB, toA] = yield* Effect.all(
          [receiveMany(b, 2000), receiveMany(a, 2000), sendMany(a, b, 2000), sendMany(b, a, 2000)],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(toB, range(1, 2000))
        assert.deepStrictEqual(toA, range(1, 2000))
        const delivery = (yield* Effect.all([sendMany(a, b, 1, 2001), b.transport.receive]))[1][0]!
        assert.strictEqual(delivery.from, "a")
        assert.strictEqual(delivery.incarnation, a.transport.incarnation)
        assert.strictEqual(delivery.envelope.seq, 2001)
        assert.deepStrictEqual(delivery.envelope.to, { node: "b", path: "/sink" })
      })
    )

    it.live("resends what was not acknowledged after a dropped link, without loss or duplicates", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a")
        const b = yield* h.node("b")
        yield* h.connect(a, b)
        // b receives but does not consume, so nothing is acknowledged: all 50 are resent
        yield* sendMany(a, b, 50)
        yield* eventually(linkTo(b, "a"), (link) => link?.received === 50)
        yield* h.drop(a, b)
        yield* eventually(b.transport.stats, (stats) => stats.duplicates === 50)
        yield* sendMany(a, b, 50, 51)
        assert.deepStrictEqual(yield* receiveMany(b, 100), range(1, 100))
        assert.strictEqual((yield* a.transport.stats).resent, 50)
        // and while traffic flows and is consumed, links keep breaking
        const received = yield* Effect.forkChild(receiveMany(b, 3000))
        const sent = yield* Effect.forkChild(sendMany(a, b, 3000, 101))
        for (let i = 0; i < 5; i++) {
          yield* Effect.sleep(20)
          yield* h.drop(a, b)
        }
        yield* Fiber.join(sent)
        assert.deepStrictEqual(yield* Fiber.join(received), range(101, 3100))
        assert.strictEqual((yield* b.transport.stats).linksUp, 1)
      })
    )

    it.live("declares a silent peer down, and sends to it fail with NodeUnreachable", () =>
      Effect.gen(function* () {
        const h = make()
        const { a, b, eventsA, eventsB } = yield* watchedPair(h)
        yield* h.connect(a, b)
        yield* h.partition(a, b)
        const downB = yield* awaitEvent(eventsA, Peer.isPeerDown)
        const downA = yield* awaitEvent(eventsB, Peer.isPeerDown)
        assert.deepStrictEqual(
          [downB.node, downB.incarnation, downB.reason],
          ["b", b.transport.incarnation, "unreachable"]
        )
        assert.deepStrictEqual([downA.node, downA.reason], ["a", "unreachable"])
        const error = expectError(yield* Effect.flip(sendMany(a, b, 1)), "NodeUnreachable")
        assert.instanceOf(error, TransportError.NodeUnreachable)
        assert.strictEqual(error.reason, "down")
        assert.deepStrictEqual(yield* a.transport.peers, [])
        // once the network heals, the same incarnations link again by themselves: a new link
        yield* h.heal
        const upB = yield* awaitEvent(eventsA, Peer.isPeerUp)
        const upA = yield* awaitEvent(eventsB, Peer.isPeerUp)
        assert.deepStrictEqual([upB.node, upB.incarnation], ["b", b.transport.incarnation])
        assert.deepStrictEqual([upA.node, upA.incarnation], ["a", a.transport.incarnation])
        const received = yield* Effect.forkChild(receiveMany(b, 50))
        yield* sendMany(a, b, 50)
        assert.deepStrictEqual(yield* Fiber.join(received), range(1, 50))
      })
    )

    it.live("a partition shorter than the failure detector loses nothing", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a", { failureDetector: { _tag: "Timeout", timeout: "5 seconds" } })
        const b = yield* h.node("b", { failureDetector: { _tag: "Timeout", timeout: "5 seconds" } })
        yield* h.connect(a, b)
        const received = yield* Effect.forkChild(receiveMany(b, 200))
        yield* sendMany(a, b, 100)
        yield* h.partition(a, b)
        yield* sendMany(a, b, 100, 101)
        yield* Effect.sleep(100)
        yield* h.heal
        assert.deepStrictEqual(yield* Fiber.join(received), range(1, 200))
      })
    )

    it.live("a node that comes back with a new incarnation is a new node; the old one is down", () =>
      Effect.gen(function* () {
        const h = make()
        const slow = { failureDetector: { _tag: "Timeout", timeout: "10 seconds" } } as const
        const a = yield* h.node("a", slow)
        const b1 = yield* h.node("b", slow)
        const events = yield* a.transport.subscribe
        const first = yield* h.connect(a, b1)
        yield* awaitEvent(events, Peer.isPeerUp)
        const b2 = yield* h.restart(b1, slow)
        assert.notStrictEqual(b2.transport.incarnation, b1.transport.incarnation)
        const down = yield* awaitEvent(events, Peer.isPeerDown)
        const up = yield* awaitEvent(events, Peer.isPeerUp)
        assert.deepStrictEqual([down.incarnation, down.reason], [b1.transport.incarnation, "restarted"])
        assert.deepStrictEqual([up.node, up.incarnation], ["b", b2.transport.incarnation])
        // sends pinned to the old incarnation fail; sends by node id go to the new one
        const stale = expectError(yield* Effect.flip(a.transport.send(first, tell(b2, 1))), "NodeUnreachable")
        assert.strictEqual(stale.reason, "stale")
        yield* sendMany(a, b2, 3)
        assert.deepStrictEqual(yield* receiveMany(b2, 3), [1, 2, 3])
      })
    )

    it.live("send fails at once with NodeUnreachable for unknown nodes and itself", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a")
        const ghost = yield* Effect.flip(a.transport.send(NodeId.make("ghost"), tell({ name: "ghost" } as Node, 1)))
        assert.strictEqual(expectError(ghost, "NodeUnreachable").reason, "unknown")
        const self = yield* Effect.flip(a.transport.send(NodeId.make("a"), tell(a, 1)))
        assert.strictEqual(expectError(self, "NodeUnreachable").reason, "self")
      })
    )

    it.live("send rejects envelopes that cannot cross the wire", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a", { maxFrameBytes: 4096 })
        const b = yield* h.node("b")
        yield* h.connect(a, b)
        const to = NodeId.make("b")
        const misaddressed = yield* Effect.flip(a.transport.send(to, tell(a, 1)))
        assert.strictEqual(expectError(misaddressed, "InvalidEnvelope").field, "to.node")
        const notJson = { ...tell(b, 1), payload: { when: new Date() } } as unknown as Envelope.Envelope
        assert.strictEqual((yield* Effect.flip(a.transport.send(to, notJson)))._tag, "InvalidEnvelope")
        const badKind = { ...tell(b, 1), kind: "shout" } as unknown as Envelope.Envelope
        const kind = yield* Effect.flip(a.transport.send(to, badKind))
        assert.strictEqual(expectError(kind, "InvalidEnvelope").field, "kind")
        const big = { ...tell(b, 1), payload: "x".repeat(5000) }
        assert.strictEqual((yield* Effect.flip(a.transport.send(to, big)))._tag, "InvalidEnvelope")
      })
    )

    it.live("a full resend buffer suspends the sender until the receiver consumes", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a", { resendBuffer: { capacity: 8 } })
        const b = yield* h.node("b")
        yield* h.connect(a, b)
        yield* sendMany(a, b, 8)
        const ninth = yield* Effect.forkChild(sendMany(a, b, 1, 9))
        // b has all 8 and has consumed none, so no ack can have freed room for the ninth
        yield* eventually(linkTo(b, "a"), (link) => link?.received === 8)
        yield* eventually(linkTo(a, "b"), (link) => link?.waiting === 1)
        assert.isUndefined(ninth.pollUnsafe())
        assert.deepStrictEqual(yield* receiveMany(b, 8), range(1, 8))
        yield* Fiber.join(ninth)
        assert.deepStrictEqual(yield* receiveMany(b, 1), [9])
      })
    )

    it.live(
      "an urgent envelope waits on its own lane while the window is full, and goes before the sends waiting",
      () =>
        Effect.gen(function* () {
          const { a, b, ninth } = yield* fullWindow(make)
          const reply = Envelope.make({
            kind: "reply",
            to: ActorAddress.make(NodeId.make("b"), "/sink"),
            correlationId: "c1",
            payload: { n: 100 }
          })
          // never refused for a full window: it waits on the urgent lane, counted with the sends waiting
          assert.isUndefined(a.transport.offer(NodeId.make("b"), reply))
          yield* eventually(linkTo(a, "b"), (link) => link?.waiting === 2)
          assert.isUndefined(ninth.pollUnsafe())
          assert.deepStrictEqual(yield* receiveMany(b, 8), range(1, 8))
          yield* Fiber.join(ninth)
          assert.deepStrictEqual(yield* receiveMany(b, 2), [100, 9])
          yield* eventually(linkTo(a, "b"), (link) => link?.waiting === 0)
        })
    )

    it.live(
      "a templated reply goes on the urgent lane intact: while the window is full, and at once when it has room",
      () =>
        Effect.gen(function* () {
          const { a, b, ninth } = yield* fullWindow(make)
          const replies = Envelope.requestTemplate({ kind: "reply", to: ActorAddress.make(NodeId.make("b"), "/sink") })
          /** The next `count` envelopes `b` receives, as plain JSON values (without the link's sequence number). */
          const receiveEnvelopes = (count: number) =>
            Effect.gen(function* () {
              const seen: Array<unknown> = []
              while (seen.length < count) {
                for (const delivery of yield* b.transport.receive) {
                  const { seq: _seq, ...envelope } = JSON.parse(JSON.stringify(delivery.envelope))
                  seen.push(envelope)
                }
              }
              return seen
            })
          // written around its payload by the template when it goes in; made whole while it waits on the urgent lane
          assert.isUndefined(
            a.transport.offer(NodeId.make("b"), Envelope.fillRequest(replies, { n: 100 }, "c1", undefined))
          )
          yield* eventually(linkTo(a, "b"), (link) => link?.waiting === 2)
          const first = yield* receiveEnvelopes(10)
          yield* Fiber.join(ninth)
          const reply = { kind: "reply", to: { node: "b", path: "/sink" } }
          assert.deepStrictEqual(first[8], { ...reply, payload: { n: 100 }, correlationId: "c1" })
          assert.deepStrictEqual(
            first.map((envelope) => (envelope as { payload: { n: number } }).payload.n),
            [...range(1, 8), 100, 9]
          )
          yield* eventually(linkTo(a, "b"), (link) => link?.waiting === 0)
          assert.isUndefined(
            a.transport.offer(NodeId.make("b"), Envelope.fillRequest(replies, { n: 101 }, "c2", undefined))
          )
          assert.deepStrictEqual(yield* receiveEnvelopes(1), [{ ...reply, payload: { n: 101 }, correlationId: "c2" }])
        })
    )

    it.live("many senders on a full window: each message once and in order, let in in the order they waited", () =>
      Effect.gen(function* () {
        const h = make()
        const CAPACITY = 64
        const a = yield* h.node("a", { resendBuffer: { capacity: CAPACITY } })
        const b = yield* h.node("b")
        yield* h.connect(a, b)
        const SENDERS = 20
        const EACH = 300
        /** The senders that waited, in the order they waited, and those let in, in the order they were. */
        const waited: Array<number> = []
        const admitted: Array<number> = []
        /** One send through `offer`, resumed by `done` as the runtime's tells are. */
        const send = (n: number, s: number) =>
          Effect.callback<void>((resume) => {
            const result = a.transport.offer(NodeId.make("b"), tell(b, n, `s${s}`), (error) => {
              admitted.push(s)
              resume(error === undefined ? Effect.void : Effect.die(error))
            })
            if (result === undefined) resume(Effect.void)
            else if (typeof result !== "function") resume(Effect.die(result))
            else waited.push(s)
          })
        const sent = new Array<number>(SENDERS).fill(0)
        /** How many each sender had sent when the first one was done. */
        let whenFirstDone: Array<number> | undefined
        const senders = Effect.forEach(
          range(0, SENDERS - 1),
          (s) =>
            Effect.gen(function* () {
              for (let n = 1; n <= EACH; n++) {
                yield* send(n, s)
                sent[s]!++
              }
              whenFirstDone ??= [...sent]
            }),
          { concurrency: "unbounded", discard: true }
        )
        const seen = new Map<string, Array<number>>()
        const receive = Effect.gen(function* () {
          let count = 0
          while (count < SENDERS * EACH) {
            for (const delivery of yield* b.transport.receive) {
              const { from, n } = delivery.envelope.payload as { readonly from: string; readonly n: number }
              seen.set(from, [...(seen.get(from) ?? []), n])
              count++
            }
          }
        })
        yield* Effect.all([senders, receive], { concurrency: "unbounded" })
        for (let s = 0; s < SENDERS; s++) assert.deepStrictEqual(seen.get(`s${s}`), range(1, EACH))
        // an ack lets in the first waiter, which sends on while there is room, then the next if room is left:
        // about one wait per ack (waking every waiter at once, ~1,100 here: each past the first waited again)
        const waits = waited.length
        assert.isBelow(waits, (4 * SENDERS * EACH) / CAPACITY, `${waits} of ${SENDERS * EACH} sends waited`)
        assert.deepStrictEqual(admitted, waited.slice(0, admitted.length))
        // and no sender is left behind: when the first is done, each other has sent a good share (5 each before)
        for (const n of whenFirstDone!) assert.isAtLeast(n, EACH / 3, `${whenFirstDone}`)
      })
    )

    it.live("a full resend buffer fails the send with the fail policy", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a", { resendBuffer: { capacity: 4, overflow: "fail" } })
        const b = yield* h.node("b")
        yield* h.connect(a, b)
        yield* sendMany(a, b, 4)
        const error = yield* Effect.flip(sendMany(a, b, 1, 5))
        assert.instanceOf(error, TransportError.ResendBufferFull)
        assert.deepStrictEqual(yield* receiveMany(b, 4), range(1, 4))
        yield* eventually(linkTo(a, "b"), (link) => link?.unacknowledged === 0)
        yield* sendMany(a, b, 1, 5)
        assert.deepStrictEqual(yield* receiveMany(b, 1), [5])
      })
    )

    it.live("a graceful shutdown flushes, says goodbye, and the peer sees it down", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a")
        const b = yield* h.node("b")
        const events = yield* a.transport.subscribe
        yield* h.connect(a, b)
        const received = yield* Effect.forkChild(receiveMany(a, 300))
        yield* sendMany(b, a, 300)
        yield* b.stop
        assert.deepStrictEqual(yield* Fiber.join(received), range(1, 300))
        const down = yield* awaitEvent(events, Peer.isPeerDown)
        assert.deepStrictEqual([down.node, down.reason], ["b", "shutdown"])
        const error = yield* Effect.flip(sendMany(a, b, 1))
        assert.strictEqual(error._tag, "NodeUnreachable")
      })
    )

    it.live("connect is idempotent and reports the live peer", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a")
        const b = yield* h.node("b")
        const first = yield* h.connect(a, b)
        const again = yield* h.connect(a, b)
        assert.deepStrictEqual(again, first)
        assert.deepStrictEqual(yield* a.transport.peers, [first])
        assert.deepStrictEqual(yield* b.transport.peers, [
          { node: NodeId.make("a"), incarnation: a.transport.incarnation }
        ])
      })
    )

    it.live("exports its counters as Effect metrics", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("metrics-a")
        const b = yield* h.node("metrics-b")
        yield* h.connect(a, b)
        yield* sendMany(a, b, 10)
        yield* receiveMany(b, 10)
        const value = <S>(metric: Metric.Metric<number, S>, node: Node) =>
          Metric.value(Metric.withAttributes(metric, { node: node.name }))
        assert.strictEqual((yield* value(TransportMetrics.envelopesIn, b)).count, 10)
        assert.isAbove((yield* value(TransportMetrics.framesOut, a)).count, 0)
        assert.strictEqual((yield* value(TransportMetrics.linksUp, a)).value, 1)
      })
    )
  })

suite(inProcess)
suite(webSocket)
