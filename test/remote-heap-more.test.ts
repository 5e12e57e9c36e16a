/**
 * Heap checks of remote operations that fail or come and go (red team, session 14): asks to a remote actor that
 * stopped, lookups of actors that are not there, topic subscriptions made and undone across nodes, and waits for
 * the end of a remote actor that are given up (a timed-out `awaitTermination`). After a warm-up, many more of
 * each must leave both nodes' heaps within 2 MB of their baseline and the remoting tables empty. Default sizes
 * show a leak of ~100 B per operation; TROUPE_CHAOS=1 runs 100,000 of each.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Protocol, Session, Topic } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import { Account, account } from "./support/account.ts"
import { gc, heapUsed } from "./support/heap.ts"
import { chaos, eventually, pair, server, tolerant, Upload, uploader } from "./support/remote-work.ts"
import { topologies } from "./support/topology.ts"

/** Minutes of child processes or heap rounds: run by `.ci/run` after the default suite (README, "Tests"). */
const long = process.env.TROUPE_LONG === "1"

const n = chaos ? 100_000 : 20_000
const range = (count: number) => Array.from({ length: count }, (_, i) => i)

/** Runs `round(warm)`, then `round(n)`, and asserts the heap grew by less than 2 MB between their ends. */
const flat = <E>(
  round: (count: number) => Effect.Effect<void, E>,
  settled: Effect.Effect<void, E> = Effect.void,
  count = n
) =>
  Effect.gen(function* () {
    yield* round(2000)
    yield* settled
    const before = yield* heapUsed
    yield* round(count)
    yield* settled
    const after = yield* heapUsed
    console.log(`heap grew by ${after - before} bytes over ${count} operations`)
    assert.isDefined(gc, "the tests run with --expose-gc")
    assert.isBelow(after - before, 2 * 1024 * 1024, `heap grew by ${after - before} bytes over ${count} operations`)
  })

for (const topology of topologies) {
  describe.runIf(long)(`remote heap checks of failing and passing operations (${topology.name})`, () => {
    it.live(
      "asks to a remote actor that stopped fail with RecipientTerminated and leave nothing",
      () =>
        Effect.gen(function* () {
          const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, tolerant))
          const local = yield* alice.system.spawn(account(), { name: "gone" })
          const remote = yield* bob.system.lookup("/user/gone", Account, { node: "alice" })
          yield* alice.system.stop(local)
          const first = yield* Effect.flip(remote.ask(Account.Balance(), { timeout: "10 seconds" }))
          assert.strictEqual(first._tag, "RecipientTerminated")
          const round = (count: number) =>
            Effect.forEach(range(count), () => Effect.flip(remote.ask(Account.Balance(), { timeout: "10 seconds" })), {
              concurrency: 500,
              discard: true
            })
          const tables = Effect.sync(
            () =>
              ActorSystem.internal(alice.system).remoting!.pendingInbound +
              ActorSystem.internal(bob.system).remoting!.pendingInbound
          )
          yield* flat(round, Effect.asVoid(eventually(tables, (k) => k === 0, "no request pending on either node")))
        }),
      240_000
    )

    it.live(
      "lookups of actors that are not there, each under its own path, leave nothing",
      () =>
        Effect.gen(function* () {
          const { bob } = pair(yield* topology.start(["alice", "bob"], {}, tolerant))
          let next = 0
          const round = (count: number) =>
            Effect.forEach(
              range(count),
              () =>
                Effect.flatMap(
                  Effect.flip(bob.system.lookup(`/user/nobody-${next++}`, Account, { node: "alice" })),
                  (e) => (e._tag === "ActorNotFound" ? Effect.void : Effect.die(e))
                ),
              { concurrency: 500, discard: true }
            )
          yield* flat(round)
        }),
      240_000
    )

    it.live(
      "topic subscriptions made and undone across nodes leave nothing on either node",
      () =>
        Effect.gen(function* () {
          const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, tolerant))
          const Ticks = Protocol.make("Ticks", { Tick: { n: Schema.Number } })
          const Prices = Topic.make("prices", Ticks)
          const onAlice = <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem>) =>
            Effect.provideService(effect, ActorSystem.ActorSystem, alice.system)
          const onBob = <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem>) =>
            Effect.provideService(effect, ActorSystem.ActorSystem, bob.system)
          const ticks = yield* alice.system.spawn(
            Behavior.make(Ticks, { initial: 0, receive: { Tick: (count) => Effect.succeed(count + 1) } }),
            { name: "sub" }
          )
          const seenOnBob = (k: number) =>
            eventually(
              onBob(Topic.subscribers(Prices)),
              (s) => s.length === k,
              `bob to see ${k} subscriber(s) of the topic`,
              30_000
            )
          const round = (count: number) =>
            Effect.forEach(
              range(count),
              () => Effect.andThen(onAlice(Topic.subscribe(Prices, ticks)), onAlice(Topic.unsubscribe(Prices, ticks))),
              { discard: true }
            )
          // settled: a subscription made last is seen by bob, then undone: both nodes agree there is none
          const settled = Effect.gen(function* () {
            yield* onAlice(Topic.subscribe(Prices, ticks))
            yield* seenOnBob(1)
            yield* onAlice(Topic.unsubscribe(Prices, ticks))
            yield* seenOnBob(0)
          })
          yield* flat(round, settled)
        }),
      240_000
    )

    it.live(
      "waits for a remote actor's end that are given up leave no watch on either node",
      () =>
        Effect.gen(function* () {
          const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, tolerant))
          yield* alice.system.spawn(account(), { name: "watched" })
          const remote = yield* bob.system.lookup("/user/watched", Account, { node: "alice" })
          const round = (count: number) =>
            Effect.forEach(range(count), () => Effect.timeoutOption(bob.system.awaitTermination(remote), "1 millis"), {
              concurrency: 500,
              discard: true
            })
          const watches = Effect.sync(
            () =>
              ActorSystem.internal(alice.system).remoting!.watchedHere +
              ActorSystem.internal(bob.system).remoting!.watching
          )
          yield* flat(
            round,
            Effect.asVoid(eventually(watches, (k) => k === 0, "the given-up watches to be undone", 30_000))
          )
        }),
      240_000
    )
  })
}

for (const topology of topologies) {
  describe.runIf(long)(`sessions and messages that fail at once across nodes (${topology.name})`, () => {
    it.live(
      "sessions whose remote role stopped fail typed, leave nothing and give their admission places back",
      () =>
        Effect.gen(function* () {
          // four places: a session that failed and kept its place would leave none after a few
          const { alice, bob } = pair(yield* topology.start(["alice", "bob"], { maxJoiningSessions: 4 }, tolerant))
          const client = yield* alice.system.spawn(uploader(10), { name: "client" })
          const onBob = yield* bob.system.spawn(server, { name: "server" })
          const gone = yield* alice.system.lookup(onBob.path, Session.protocolOf(Upload, "Server"), { node: "bob" })
          yield* bob.system.stop(onBob)
          const live = yield* bob.system.spawn(server, { name: "live" })
          const liveRef = yield* alice.system.lookup(live.path, Session.protocolOf(Upload, "Server"), { node: "bob" })
          const run = (server: typeof gone) =>
            Session.run(Upload, { roles: { Client: client, Server: server }, stepTimeout: "20 seconds" }).pipe(
              Effect.provideService(ActorSystem.ActorSystem, alice.system)
            )
          const first = yield* Effect.flip(run(gone))
          console.log(`a session with a stopped remote role: ${first._tag}: ${first.message}`)
          const round = (count: number) =>
            Effect.forEach(range(count), () => Effect.flip(run(gone)), { concurrency: 4, discard: true })
          // four at a time (the places): a quarter as many, still showing a leak of ~400 B per session
          yield* flat(round, Effect.void, n / 4)
          // every place was given back: sessions with a live role run, as many at once as there are places
          const results = yield* Effect.forEach(range(40), () => run(liveRef), { concurrency: 4 })
          assert.strictEqual(results.length, 40)
          const watched = Effect.sync(
            () =>
              ActorSystem.internal(bob.system).remoting!.watchedHere +
              ActorSystem.internal(alice.system).remoting!.watching
          )
          yield* eventually(watched, (k) => k === 0, "the watches of failed sessions to be forgotten", 30_000)
        }),
      240_000
    )

    it.live(
      "asks, tells and lookups to a node that crashed fail at once and leave nothing",
      () =>
        Effect.gen(function* () {
          const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, tolerant))
          yield* alice.system.spawn(account(), { name: "acct" })
          const remote = yield* bob.system.lookup("/user/acct", Account, { node: "alice" })
          yield* alice.crash
          yield* eventually(bob.system.nodes, (ns) => !ns.includes("alice"), "alice to be declared down", 30_000)
          let next = 0
          const round = (count: number) =>
            Effect.forEach(
              range(count),
              () =>
                Effect.all([
                  Effect.exit(remote.tell(Account.Deposit({ amount: 1 }))),
                  Effect.flip(remote.ask(Account.Balance(), { timeout: "10 seconds" })),
                  Effect.flip(bob.system.lookup(`/user/acct-${next++}`, Account, { node: "alice" }))
                ]),
              { concurrency: 100, discard: true }
            )
          const [, asked, looked] = yield* Effect.all([
            Effect.exit(remote.tell(Account.Deposit({ amount: 1 }))),
            Effect.flip(remote.ask(Account.Balance(), { timeout: "10 seconds" })),
            Effect.flip(bob.system.lookup("/user/acct", Account, { node: "alice" }))
          ])
          console.log(
            `to a crashed node: ask ${asked._tag}: ${asked.message}; lookup ${looked._tag}: ${looked.message}`
          )
          yield* flat(round)
        }),
      240_000
    )
  })
}
