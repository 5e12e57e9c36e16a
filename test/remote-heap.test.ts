/**
 * Heap checks of the remote path across two nodes, in a file of their own (measured without other tests'
 * leftovers in the same process): timed-out remote asks on a live node, and cross-node sessions. Default
 * sizes detect the leaks issue 9 reported (~340 B per ask, ~5 KB per session); TROUPE_CHAOS=1 runs the
 * issue's full sizes (100,000 asks, 10,000 sessions).
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Mailbox, Session } from "@troupe/runtime"
import { Effect } from "effect"
import { gc, heapUsed } from "./support/heap.ts"
import { chaos, eventually, pair, server, tolerant, Upload, uploader, Work, worker } from "./support/remote-work.ts"
import { topologies } from "./support/topology.ts"

for (const topology of topologies) {
  describe(`remote heap checks (${topology.name})`, () => {
    it.live("timed-out remote asks on a live node: the heap of both nodes returns to its baseline", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, tolerant))
        // each ask takes 50 ms of work and times out after 20: the actor works on one while the rest time out,
        // and skips those once it gets to them (a stuck actor would keep them, bounded by its mailbox)
        yield* alice.system.spawn(worker({ itemMillis: 50 }), { name: "w", mailbox: Mailbox.bounded(100_000) })
        const remote = yield* bob.system.lookup("/user/w", Work, { node: "alice" })
        const round = (n: number) =>
          Effect.andThen(
            Effect.forEach(
              Array.from({ length: n }, (_, i) => i),
              () => Effect.exit(remote.ask(Work.SlowCount(), { timeout: "20 millis" })),
              { concurrency: 2000, discard: true }
            ),
            // after every one of them in the mailbox: the round is over on the callee too
            Effect.orDie(remote.ask(Work.Count(), { timeout: "60 seconds" }))
          )
        const callee = ActorSystem.internal(alice.system).remoting!
        const forgotten = eventually(
          Effect.sync(() => callee.pendingInbound),
          (n) => n === 0,
          "the callee to forget the timed-out asks",
          30_000
        )
        yield* round(2000) // warm up: codecs, rings, maps and timer wheels at their working size
        yield* forgotten
        const before = yield* heapUsed
        yield* round(chaos ? 100_000 : 10_000)
        yield* forgotten
        const after = yield* heapUsed
        assert.isDefined(gc, "the tests run with --expose-gc")
        assert.isBelow(after - before, 2 * 1024 * 1024, `heap grew by ${after - before} bytes`)
      })
    )

    it.live("cross-node sessions: the heap of both nodes returns to its baseline", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, tolerant))
        const client = yield* alice.system.spawn(uploader(10), { name: "client" })
        const onBob = yield* bob.system.spawn(server, { name: "server" })
        const serverRef = yield* alice.system.lookup(onBob.path, Session.protocolOf(Upload, "Server"), { node: "bob" })
        const sessions = (n: number) =>
          Effect.forEach(
            Array.from({ length: n }, (_, i) => i),
            () =>
              Session.run(Upload, { roles: { Client: client, Server: serverRef }, stepTimeout: "20 seconds" }).pipe(
                Effect.provideService(ActorSystem.ActorSystem, alice.system)
              ),
            { concurrency: 50, discard: true }
          )
        yield* sessions(200) // warm up
        const before = yield* heapUsed
        yield* sessions(chaos ? 10_000 : 500) // a leak of the 5 KB per session shows at 500
        const after = yield* heapUsed
        assert.isBelow(after - before, 2 * 1024 * 1024, `heap grew by ${after - before} bytes`)
        // the last sessions' unwatch notices may still be on their way
        const watched = Effect.sync(
          () =>
            ActorSystem.internal(bob.system).remoting!.watchedHere +
            ActorSystem.internal(alice.system).remoting!.watchedHere
        )
        yield* eventually(watched, (n) => n === 0, "the watches of ended sessions to be forgotten")
      })
    )
  })
}
