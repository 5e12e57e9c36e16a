/**
 * Push-style receiving (`Transport.receiveWith`), on both transports: the receiver hears of its peers in order with
 * their envelopes, takes each envelope as it arrives (acknowledging it), and a receiver that throws loses nothing after it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import type { Peer, Transport } from "../src/index.ts"
import { eventually, type Harness, inProcess, webSocket } from "./support/harness.ts"
import { linkTo, range, receiveMany, sendMany } from "./support/traffic.ts"

const suite = (make: () => Harness) =>
  describe(make().kind, () => {
    it.live("a receiver hears of its peers and takes every envelope as it arrives, acknowledging it", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("push-a")
        const b = yield* h.node("push-b")
        yield* h.connect(a, b)
        // queued before a receiver registers
        yield* sendMany(a, b, 3)
        yield* eventually(linkTo(b, "push-a"), (link) => link?.received === 3)
        const heard: Array<string | number> = []
        const from = new Set<Peer.Peer>()
        const receiver: Transport.Receiver = {
          deliver: (peer, envelope) => {
            from.add(peer)
            heard.push((envelope.payload as { readonly n: number }).n)
          },
          peer: (event) => heard.push(`${event._tag} ${event.node}`)
        }
        const scope = yield* Scope.make()
        yield* b.transport.receiveWith(receiver).pipe(Scope.provide(scope))
        // at once, in order: the live peer, then what was queued
        assert.deepStrictEqual(heard, ["PeerUp push-a", 1, 2, 3])
        const second = yield* Effect.exit(Effect.scoped(b.transport.receiveWith(receiver)))
        assert.isTrue(Exit.hasDies(second), "one receiver at a time")
        yield* sendMany(a, b, 997, 4)
        yield* eventually(
          Effect.sync(() => heard.length),
          (n) => n === 1001
        )
        assert.deepStrictEqual(heard, ["PeerUp push-a", ...range(1, 1000)])
        // each envelope comes with its sender: the link's one peer object, no object made per envelope
        assert.deepStrictEqual(
          [...from].map((peer) => [peer.node, peer.incarnation]),
          [["push-a", a.transport.incarnation]]
        )
        // taken means acknowledged: nobody calls receive, and the sender's buffer empties
        yield* eventually(linkTo(a, "push-b"), (link) => link?.unacknowledged === 0)
        // when its scope closes, envelopes are queued for receive again
        yield* Scope.close(scope, Exit.void)
        yield* sendMany(a, b, 1, 1001)
        assert.deepStrictEqual(yield* receiveMany(b, 1), [1001])
        assert.strictEqual(heard.length, 1001)
        // peer events reach a receiver in order with the envelopes: the last one, then PeerDown
        yield* b.transport.receiveWith(receiver)
        yield* sendMany(a, b, 1, 1002)
        yield* a.stop
        yield* eventually(
          Effect.sync(() => heard.at(-1)),
          (last) => last === "PeerDown push-a"
        )
        assert.deepStrictEqual(heard.slice(-3), ["PeerUp push-a", 1002, "PeerDown push-a"])
      })
    )

    it.live("a receiver that throws is logged, and the envelopes after it are still handed over", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("throw-a")
        const b = yield* h.node("throw-b")
        yield* h.connect(a, b)
        const heard: Array<number> = []
        yield* b.transport.receiveWith({
          deliver: (_, envelope) => {
            const n = (envelope.payload as { readonly n: number }).n
            heard.push(n)
            if (n === 2) throw new Error("a receiver with a bug")
          },
          peer: () => {}
        })
        yield* sendMany(a, b, 3)
        yield* eventually(
          Effect.sync(() => heard.length),
          (n) => n === 3
        )
        assert.deepStrictEqual(heard, [1, 2, 3])
        yield* eventually(linkTo(a, "throw-b"), (link) => link?.unacknowledged === 0)
      })
    )
  })

suite(inProcess)
suite(webSocket)
