/**
 * Links that outlive what happens to their connections, on both transports: a reconnection continues the link
 * (nothing lost, nothing twice), a verdict on one side starts a new one on both, nodes that dial each other at
 * once end with one link, and a late event loop does not make a live peer down.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, PubSub } from "effect"
import { Peer } from "../src/index.ts"
import { awaitEvent, eventually, type Harness, inProcess, watchedPair, webSocket } from "./support/harness.ts"
import { downs, linkTo, range, receiveMany, sendMany } from "./support/traffic.ts"

const suite = (make: () => Harness) =>
  describe(make().kind, () => {
    it.live("a reconnection dialed by the receiver continues the link: nothing lost, nothing twice, no PeerDown", () =>
      Effect.gen(function* () {
        const h = make()
        const { a, b, eventsA, eventsB } = yield* watchedPair(h)
        // b dials; a sends, b receives and does not consume: b's link has received 50, a's has no ack yet
        yield* h.connect(b, a)
        yield* sendMany(a, b, 50)
        yield* eventually(linkTo(b, "a"), (link) => link?.received === 50)
        assert.strictEqual((yield* linkTo(a, "b"))?.unacknowledged, 50)
        // b dials again: both sides still hold the same link, so it continues (a resends, b drops what it had)
        yield* h.drop(a, b)
        yield* sendMany(a, b, 50, 51)
        assert.deepStrictEqual(yield* receiveMany(b, 100), range(1, 100))
        assert.strictEqual((yield* b.transport.stats).duplicates, 50)
        assert.deepStrictEqual([(yield* a.transport.stats).linksUp, (yield* b.transport.stats).linksUp], [1, 1])
        assert.deepStrictEqual([yield* downs(eventsA), yield* downs(eventsB)], [0, 0])
      })
    )

    it.live("a peer declared down on one side only: both start a new link, nothing old resent", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("a")
        const b = yield* h.node("b", { failureDetector: { _tag: "Timeout", timeout: "30 seconds" } })
        const eventsA = yield* a.transport.subscribe
        const eventsB = yield* b.transport.subscribe
        yield* h.connect(a, b)
        // b sends 10 that a receives and does not consume yet: unacknowledged on b
        yield* sendMany(b, a, 10)
        yield* eventually(linkTo(a, "b"), (link) => link?.received === 10)
        // a partition that a's detector sees and b's does not
        yield* h.partition(a, b)
        assert.strictEqual((yield* awaitEvent(eventsA, Peer.isPeerDown)).reason, "unreachable")
        yield* h.heal
        // b ends the link a dropped (what it had not acknowledged is not resent: a has it), and both start anew
        const down = yield* awaitEvent(eventsB, Peer.isPeerDown)
        assert.deepStrictEqual([down.node, down.reason], ["a", "refused"])
        yield* awaitEvent(eventsB, Peer.isPeerUp)
        yield* eventually(linkTo(a, "b"), (link) => link?.connected === true)
        yield* sendMany(b, a, 10, 11)
        assert.deepStrictEqual(yield* receiveMany(a, 20), range(1, 20))
        assert.strictEqual((yield* linkTo(a, "b"))?.received, 10)
      })
    )

    it.live("a node that dials a peer it holds a link to keeps it, even one only the peer has sent on", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const h = make()
          const a = yield* h.node("a")
          const b = yield* h.node("b")
          yield* h.connect(a, b)
          const events = yield* b.transport.subscribe
          yield* sendMany(a, b, 1)
          // b has received it and not taken it (so not acknowledged it): the link is used on b's side only
          yield* eventually(linkTo(b, "a"), (link) => link?.received === 1)
          yield* h.connect(b, a)
          yield* sendMany(a, b, 1, 2)
          assert.deepStrictEqual(yield* receiveMany(b, 2), [1, 2])
          const seen = yield* PubSub.takeUpTo(events, 100)
          assert.deepStrictEqual(
            seen.filter((event) => event._tag === "PeerDown"),
            [],
            "b ended its link to a (before: 'the peer had declared this node down; linking anew')"
          )
        })
      )
    )

    it.live("nodes that dial each other at once end with one link", () =>
      Effect.gen(function* () {
        const h = make()
        const { a, b, eventsA, eventsB } = yield* watchedPair(h)
        yield* Effect.all([h.connect(a, b), h.connect(b, a)], { concurrency: "unbounded" })
        const [toB, toA] = yield* Effect.all(
          [receiveMany(b, 500), receiveMany(a, 500), sendMany(a, b, 500), sendMany(b, a, 500)],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(toB, range(1, 500))
        assert.deepStrictEqual(toA, range(1, 500))
        for (const node of [a, b]) {
          const stats = yield* node.transport.stats
          assert.deepStrictEqual([stats.linksUp, stats.duplicates, stats.links.length], [1, 0, 1])
        }
        // and after drops, with envelopes in flight both ways, both dial again at once and carry on with that
        // link: nothing lost, nothing twice, never declared down
        const flows = yield* Effect.forkChild(
          Effect.all(
            [receiveMany(b, 2000), receiveMany(a, 2000), sendMany(a, b, 2000, 501), sendMany(b, a, 2000, 501)],
            {
              concurrency: "unbounded"
            }
          )
        )
        for (let i = 0; i < 5; i++) {
          yield* Effect.sleep(20)
          yield* h.drop(a, b)
        }
        const [toBAgain, toAAgain] = yield* Fiber.join(flows)
        assert.deepStrictEqual(toBAgain, range(501, 2500))
        assert.deepStrictEqual(toAAgain, range(501, 2500))
        assert.deepStrictEqual([yield* downs(eventsA), yield* downs(eventsB)], [0, 0])
      })
    )
  })

suite(inProcess)
suite(webSocket)

/** Keeps this process's event loop late: every `everyMs`, a synchronous busy loop of `blockMs`. */
const lateLoop = (blockMs: number, everyMs: number) => {
  let blocks = 0
  const timer = setInterval(() => {
    const end = Date.now() + blockMs
    while (Date.now() < end) {
      // a synchronous handler hogging the loop, as on a loaded machine
    }
    blocks++
  }, everyMs)
  return { blocks: () => blocks, stop: () => clearInterval(timer) }
}

describe("a late event loop (WebSocket)", () => {
  it.live("does not make a live peer down, and a silent peer is still declared down", () =>
    Effect.gen(function* () {
      const h = webSocket()
      // a's detector gives up after 300 ms (half the harness's 600 ms: the blocks below take half as long); b and a
      // share this process's loop, so only this process's lag delays b's heartbeats, and that lag is forgiven
      const a = yield* h.node("a", { failureDetector: { _tag: "Timeout", timeout: "300 millis" } })
      const b = yield* h.node("b")
      const events = yield* a.transport.subscribe
      yield* h.connect(a, b)
      // each block outlasts a's detector: before the lag was forgiven below 1 s, a declared b down
      const late = lateLoop(350, 370)
      yield* Effect.ensuring(
        eventually(Effect.sync(late.blocks), (n) => n >= 3),
        Effect.sync(late.stop)
      )
      assert.deepStrictEqual(
        (yield* a.transport.peers).map((peer) => peer.node),
        ["b"]
      )
      assert.isFalse((yield* PubSub.takeUpTo(events, 100)).some(Peer.isPeerDown))
      // forgiving the lag does not hide a dead peer: cut off while the loop stays late, b is declared down
      const stillLate = lateLoop(75, 100)
      yield* h.partition(a, b)
      const down = yield* Effect.ensuring(awaitEvent(events, Peer.isPeerDown), Effect.sync(stillLate.stop))
      assert.deepStrictEqual([down.node, down.reason], ["b", "unreachable"])
    })
  )
})

describe("heartbeats that do not get through (WebSocket)", () => {
  it.live("a peer whose frames and handshakes still arrive is not declared down; a silent one still is", () =>
    Effect.gen(function* () {
      const h = webSocket()
      // a's heartbeats come every second, later than b's detector gives up (750 ms): as when connections are cut
      // before a heartbeat goes out, or heartbeats queue behind data on a starved machine
      const a = yield* h.node("a", { heartbeatInterval: "1 second" })
      const b = yield* h.node("b", { failureDetector: { _tag: "Timeout", timeout: "750 millis" } })
      const events = yield* b.transport.subscribe
      yield* h.connect(a, b)
      // 2 s of data from a (longer than a's interval and b's timeout together), every connection cut every 200 ms
      // (each reconnection is a handshake a completes)
      const cutting = yield* Effect.forkChild(Effect.forever(Effect.andThen(Effect.sleep(200), h.drop(a, b))))
      for (let n = 1; n <= 20; n++) {
        yield* sendMany(a, b, 1, n)
        yield* Effect.sleep(100)
      }
      yield* Fiber.interrupt(cutting)
      assert.deepStrictEqual(yield* receiveMany(b, 20), range(1, 20))
      assert.strictEqual(yield* downs(events), 0)
      // what shows a peer alive does not hide a silent one: cut off, a is declared down
      yield* h.partition(a, b)
      const down = yield* awaitEvent(events, Peer.isPeerDown)
      assert.deepStrictEqual([down.node, down.reason], ["a", "unreachable"])
    })
  )
})
