/**
 * Failures and membership across nodes (death watch, node down, the receptionist, topics, supervision,
 * system events), on both transports: the same tests run with the in-process
 * transport and with real WebSockets on loopback (messaging: remote.test.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import {
  ActorRef,
  ActorSystem,
  Behavior,
  Protocol,
  Receptionist,
  Supervisor,
  type SystemEvent,
  TestKit,
  Topic
} from "@troupe/runtime"
import { Deferred, Effect, Fiber, Option, Schema, Stream } from "effect"
import { Account, account, eventually, eventuallyEffect, two } from "./support/account.ts"
import { topologies } from "./support/topology.ts"

for (const topology of topologies) {
  describe(`failures and membership across nodes (${topology.name})`, () => {
    const start = (names: ReadonlyArray<string>) => topology.start(names)

    it.live("death watch across nodes: normal stop, failure, and an actor already gone", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        yield* alice.system.spawn(account(), { name: "stopped" })
        yield* alice.system.spawn(account(), { name: "failing", restart: "temporary" })
        const stopped = yield* bob.system.lookup("/user/stopped", Account, { node: "alice" })
        const failing = yield* bob.system.lookup("/user/failing", Account, { node: "alice" })
        const probe = yield* TestKit.probe(Account).pipe(Effect.provideService(ActorSystem.ActorSystem, bob.system))
        const gone = yield* Effect.forkChild(probe.expectTerminated(stopped))
        yield* Effect.sleep("20 millis")
        yield* alice.system.stop(yield* alice.system.lookup("/user/stopped", Account))
        assert.strictEqual((yield* Fiber.join(gone)).reason._tag, "Stopped")
        const failed = yield* Effect.forkChild(bob.system.awaitTermination(failing))
        yield* Effect.sleep("20 millis")
        yield* failing.tell(Account.Crash())
        const terminated = yield* Fiber.join(failed)
        assert.strictEqual(terminated.reason._tag, "Failed")
        assert.strictEqual(terminated.ref.path, "/user/failing")
        // watching an actor that is already gone is answered at once
        assert.strictEqual((yield* probe.expectTerminated(stopped)).reason._tag, "Stopped")
      })
    )

    it.live("death watch across nodes: one notification per watch, none after unwatch", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        const Target = ActorRef.schema(Account)
        const Watcher = Protocol.make("Watcher", {
          WatchTwice: Protocol.request({ target: Target }, { success: Schema.Void }),
          WatchThenUnwatch: Protocol.request({ target: Target }, { success: Schema.Void }),
          Seen: Protocol.request({}, { success: Schema.Array(Schema.String) })
        })
        const seen: Array<string> = []
        const watcher = yield* bob.system.spawn(
          Behavior.make(Watcher, {
            initial: null,
            receive: {
              WatchTwice: (s, { target }, ctx) =>
                Effect.as(Effect.andThen(ctx.watch(target), ctx.watch(target)), { state: s, reply: undefined }),
              WatchThenUnwatch: (s, { target }, ctx) =>
                Effect.as(Effect.andThen(ctx.watch(target), ctx.unwatch(target)), { state: s, reply: undefined }),
              Seen: (s) => Effect.succeed({ state: s, reply: seen })
            },
            onTerminated: (s, terminated) =>
              Effect.as(
                Effect.sync(() => seen.push(terminated.ref.path)),
                s
              )
          })
        )
        yield* alice.system.spawn(account(), { name: "twice" })
        yield* alice.system.spawn(account(), { name: "undone" })
        const twice = yield* bob.system.lookup("/user/twice", Account, { node: "alice" })
        const undone = yield* bob.system.lookup("/user/undone", Account, { node: "alice" })
        yield* watcher.ask(Watcher.WatchTwice({ target: twice }))
        yield* alice.system.stop(yield* alice.system.lookup("/user/twice", Account))
        yield* eventually(() => seen.length > 0, "the notification")
        // watch and unwatch of a dead remote actor: its notice, if already queued, is not handled
        yield* alice.system.stop(yield* alice.system.lookup("/user/undone", Account))
        yield* watcher.ask(Watcher.WatchThenUnwatch({ target: undone }))
        // a second notice of the first watch would have been queued with the first
        assert.deepStrictEqual(yield* watcher.ask(Watcher.Seen()), ["/user/twice"])
      })
    )

    it.live("when a node goes down, watchers get NodeDown and pending asks fail with NodeUnreachable", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        const hung = yield* Deferred.make<void>()
        yield* alice.system.spawn(account(hung), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        const watching = yield* Effect.forkChild(bob.system.awaitTermination(remote))
        const asking = yield* Effect.forkChild(Effect.flip(remote.ask(Account.Hang(), { timeout: "30 seconds" })))
        yield* Deferred.await(hung)
        const started = Date.now()
        yield* alice.crash
        const error = yield* Fiber.join(asking)
        assert.strictEqual(error._tag, "NodeUnreachable")
        assert.isBelow(Date.now() - started, 10_000, "the ask did not wait for its deadline")
        assert.strictEqual((yield* Fiber.join(watching)).reason._tag, "NodeDown")
        assert.deepStrictEqual(yield* bob.system.nodes, [])
        // a new ask fails at once
        assert.strictEqual((yield* Effect.flip(remote.ask(Account.Balance())))._tag, "NodeUnreachable")
      })
    )

    it.live("the receptionist spans nodes, and forgets actors that terminate or whose node goes down", () =>
      Effect.gen(function* () {
        const [alice, bob, carol] = yield* start(["alice", "bob", "carol"])
        const Accounts = Receptionist.key("accounts", Account)
        const onAlice = yield* alice!.system.spawn(account(), { name: "a" })
        const onCarol = yield* carol!.system.spawn(account(), { name: "c" })
        yield* Receptionist.register(Accounts, onAlice).pipe(
          Effect.provideService(ActorSystem.ActorSystem, alice!.system)
        )
        yield* Receptionist.register(Accounts, onCarol).pipe(
          Effect.provideService(ActorSystem.ActorSystem, carol!.system)
        )
        const find = Receptionist.find(Accounts).pipe(Effect.provideService(ActorSystem.ActorSystem, bob!.system))
        const both = yield* eventuallyEffect(find, (refs) => refs.length === 2, "two registrations")
        assert.sameMembers(
          both.map((r) => `${r.node}${r.path}`),
          ["alice/user/a", "carol/user/c"]
        )
        // typed refs that work
        for (const ref of both) yield* ref.tell(Account.Deposit({ amount: 1 }))
        assert.deepStrictEqual(yield* Effect.forEach(both, (r) => r.ask(Account.Balance())), [1, 1])
        yield* alice!.system.stop(onAlice)
        yield* eventuallyEffect(find, (refs) => refs.length === 1, "alice's actor to leave")
        yield* carol!.crash
        yield* eventuallyEffect(find, (refs) => refs.length === 0, "carol's actor to leave with its node")
      })
    )

    it.live("topics span nodes", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        const Ticks = Protocol.make("Ticks", { Tick: { n: Schema.Number } })
        const Prices = Topic.make("prices", Ticks)
        const probe = yield* TestKit.probe(Ticks).pipe(Effect.provideService(ActorSystem.ActorSystem, alice.system))
        yield* Topic.subscribe(Prices, probe.ref).pipe(Effect.provideService(ActorSystem.ActorSystem, alice.system))
        const publish = (n: number) =>
          Topic.publish(Prices, Ticks.Tick({ n })).pipe(Effect.provideService(ActorSystem.ActorSystem, bob.system))
        yield* eventuallyEffect(
          Topic.subscribers(Prices).pipe(Effect.provideService(ActorSystem.ActorSystem, bob.system)),
          (s) => s.length === 1,
          "the subscription to reach bob"
        )
        assert.strictEqual(yield* publish(1), 1)
        yield* publish(2)
        assert.deepStrictEqual(
          [yield* probe.expectMessage(), yield* probe.expectMessage()],
          [Ticks.Tick({ n: 1 }), Ticks.Tick({ n: 2 })]
        )
      })
    )

    it.live("a remote actor's supervisor restarts it; refs from other nodes keep working", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        yield* alice.system.spawn(
          Supervisor.make({
            strategy: Supervisor.oneForOne({ backoff: false }),
            children: [Supervisor.child("account", account())]
          }),
          { name: "bank" }
        )
        const remote = yield* bob.system.lookup("/user/bank/account", Account, { node: "alice" })
        yield* remote.tell(Account.Deposit({ amount: 5 }))
        assert.strictEqual(yield* remote.ask(Account.Balance()), 5)
        yield* remote.tell(Account.Crash())
        assert.strictEqual(yield* remote.ask(Account.Balance()), 0, "restarted with fresh state")
        yield* remote.tell(Account.Deposit({ amount: 2 }))
        assert.strictEqual(yield* remote.ask(Account.Balance()), 2)
      })
    )

    it.live("system events report nodes joining and leaving", () =>
      Effect.gen(function* () {
        const [alice, bob] = yield* start(["alice", "bob"])
        const events: Array<SystemEvent.SystemEvent> = []
        yield* (yield* bob!.system.subscribe).pipe(
          Stream.runForEach((e) => Effect.sync(() => events.push(e))),
          Effect.forkScoped
        )
        yield* alice!.crash
        yield* eventually(() => events.some((e) => e._tag === "NodeDown"), "NodeDown")
        const down = events.find((e) => e._tag === "NodeDown")!
        assert.deepInclude(down, { node: "alice" })
        assert.isTrue(Option.isNone(Option.fromUndefinedOr(events.find((e) => e._tag === "NodeUp"))))
      })
    )
  })
}
