/**
 * Membership, run against both transports: a node that joins one member links to all of them, and
 * members that lost each other (a partition) link again once it heals, without anyone dialing.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, PubSub, References } from "effect"
import * as RawPeer from "../../../test/support/raw-peer.ts"
import { ActorAddress, Envelope, NodeId, Peer, WebSocket } from "../src/index.ts"
import { awaitEvent, eventually, type Harness, inProcess, type Node, webSocket } from "./support/harness.ts"

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

/** Waits until every node of `nodes` came up (in any order). */
const awaitAllUp = (events: PubSub.Subscription<Peer.PeerEvent>, nodes: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const missing = new Set(nodes)
    while (missing.size > 0) missing.delete((yield* awaitEvent(events, Peer.isPeerUp)).node)
  })

/** A hub and two leaves that join only the hub; returns once the left leaf linked to the right one. */
const star = (h: Harness) =>
  Effect.gen(function* () {
    const hub = yield* h.node("hub")
    const left = yield* h.node("left")
    const right = yield* h.node("right")
    const events = yield* left.transport.subscribe
    yield* h.connect(left, hub)
    yield* h.connect(right, hub)
    const up = yield* awaitUp(events, "right")
    assert.strictEqual(up.incarnation, right.transport.incarnation)
    return { hub, left, right, events }
  })

const suite = (make: () => Harness) =>
  describe(make().kind, () => {
    it.live("a node that joins one member links to the others: a star becomes a mesh", () =>
      Effect.gen(function* () {
        const h = make()
        const { left, right } = yield* star(h)
        yield* roundTrip(left, right, "left to right")
        yield* roundTrip(right, left, "right to left")
        // a fourth node joins while the others run: it links to all three
        const late = yield* h.node("late")
        const lateEvents = yield* late.transport.subscribe
        yield* h.connect(late, right)
        yield* awaitAllUp(lateEvents, ["hub", "left", "right"])
        yield* roundTrip(left, late, "left to late")
      })
    )

    it.live("members that lost each other in a partition link again once it heals", () =>
      Effect.gen(function* () {
        const h = make()
        const { left, right, events } = yield* star(h)
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

describe("membership gossip from a peer", () => {
  const secret = "a membership test secret"
  const start = (node: string, options: { readonly secret: string }) =>
    WebSocket.make({ node, secret: options.secret, listen: { port: 0 }, heartbeatInterval: "100 millis" }).pipe(
      Effect.provideService(References.MinimumLogLevel, "Error"),
      Effect.orDie
    )

  it.live("a forged claim evicts no live node, and a member learned from it must pass the handshake", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const target = yield* start("target", { secret })
        const bob = yield* start("bob", { secret })
        // eve is reachable but does not know the cluster's secret
        const eve = yield* start("eve", { secret: "another secret, not the cluster's" })
        const events = yield* target.subscribe
        const seen: Array<Peer.PeerEvent> = []
        yield* Effect.forkScoped(Effect.forever(Effect.map(PubSub.take(events), (event) => seen.push(event))))
        yield* bob.connect(Option.getOrThrow(target.address))
        // mallory knows the secret (an insider) and claims that bob, live and linked, is at eve's address,
        // and that a node "carol" is there too
        const mallory = yield* Effect.promise(() => RawPeer.open(Option.getOrThrow(target.address)))
        yield* Effect.promise(() => RawPeer.join(mallory, RawPeer.identity("mallory"), secret))
        const eveUrl = Option.getOrThrow(eve.address)
        mallory.send({
          type: "members",
          members: [
            { node: "bob", address: eveUrl },
            { node: "carol", address: eveUrl }
          ]
        })
        // the target dials the claimed address for carol, with its own secret: eve refuses it
        yield* eventually(eve.stats, (stats) => stats.refused > 0)
        const peers = yield* target.peers
        assert.deepStrictEqual(peers.map((peer) => peer.node).sort(), ["bob", "mallory"])
        assert.strictEqual(peers.find((peer) => peer.node === "bob")!.incarnation, bob.incarnation)
        // and bob was never declared down
        assert.isFalse(seen.some((event) => Peer.isPeerDown(event) && event.node === "bob"))
        mallory.socket.terminate()
      })
    )
  )
})
