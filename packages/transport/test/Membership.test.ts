/**
 * Membership, run against both transports: a node that joins one member links to all of them, and
 * members that lost each other (a partition) link again once it heals, without anyone dialing.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, type PubSub } from "effect"
import { ActorAddress, Envelope, NodeId, Peer } from "../src/index.ts"
import { awaitEvent, type Harness, inProcess, type Node, webSocket } from "./support/harness.ts"

const upOf = (node: string) => (event: Peer.PeerEvent) => Peer.isPeerUp(event) && event.node === node
const downOf = (node: string) => (event: Peer.PeerEvent) => Peer.isPeerDown(event) && event.node === node

const awaitUp = (events: PubSub.Subscription<Peer.PeerEvent>, node: string) =>
  awaitEvent(events, (event): event is Peer.PeerUp => upOf(node)(event))
const awaitDown = (events: PubSub.Subscription<Peer.PeerEvent>, node: string) =>
  awaitEvent(events, (event): event is Peer.PeerDown => downOf(node)(event))

/** `from` sends one envelope straight to `to` (no hop through another node) and `to` receives it. */
const roundTrip = (from: Node, to: Node, text: string) =>
  Effect.gen(function* () {
    const envelope = Envelope.make({
      kind: "tell",
      to: ActorAddress.make(NodeId.make(to.name), "/sink"),
      payload: text
    })
    yield* from.transport.send(NodeId.make(to.name), envelope)
    const [delivery] = yield* to.transport.receive
    assert.deepStrictEqual([delivery.from, delivery.envelope.payload], [from.name, text])
  })

const suite = (make: () => Harness) =>
  describe(make().kind, () => {
    it.live("a node that joins one member links to the others: a star becomes a mesh", () =>
      Effect.gen(function* () {
        const h = make()
        const hub = yield* h.node("hub")
        const left = yield* h.node("left")
        const right = yield* h.node("right")
        const events = yield* left.transport.subscribe
        yield* h.connect(left, hub)
        yield* h.connect(right, hub)
        const up = yield* awaitUp(events, "right")
        assert.strictEqual(up.incarnation, right.transport.incarnation)
        yield* roundTrip(left, right, "left to right")
        yield* roundTrip(right, left, "right to left")
        // a fourth node joins while the others run: it links to all three
        const late = yield* h.node("late")
        const lateEvents = yield* late.transport.subscribe
        yield* h.connect(late, right)
        yield* awaitUp(lateEvents, "hub")
        yield* awaitUp(lateEvents, "left")
        yield* roundTrip(left, late, "left to late")
      })
    )

    it.live("members that lost each other in a partition link again once it heals", () =>
      Effect.gen(function* () {
        const h = make()
        const hub = yield* h.node("hub")
        const left = yield* h.node("left")
        const right = yield* h.node("right")
        const events = yield* left.transport.subscribe
        yield* h.connect(left, hub)
        yield* h.connect(right, hub)
        yield* awaitUp(events, "right")
        yield* h.partition(left, right)
        const down = yield* awaitDown(events, "right")
        assert.strictEqual(down.reason, "unreachable")
        yield* h.heal
        // nobody dials: the members' gossip brings them together again, as the same incarnations
        const up = yield* awaitUp(events, "right")
        assert.strictEqual(up.incarnation, right.transport.incarnation)
        yield* roundTrip(left, right, "after the partition")
      })
    )
  })

suite(inProcess)
suite(webSocket)
