/**
 * The runtime's behaviour across nodes, on both transports: the same tests run with the in-process
 * transport and with real WebSockets on loopback.
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
import { Deferred, Effect, Fiber, Layer, Option, Schema, Stream, Tracer } from "effect"
import { type Node, topologies } from "./support/topology.ts"

class Insufficient extends Schema.TaggedError<Insufficient>()("Insufficient", { balance: Schema.Number }) {}

const Account = Protocol.make("Account", {
  Deposit: { amount: Schema.Number },
  Withdraw: Protocol.request({ amount: Schema.Number }, { success: Schema.Number, failure: Insufficient }),
  Balance: Protocol.request({}, { success: Schema.Number }),
  Crash: {},
  Hang: Protocol.request({}, { success: Schema.Void })
})

const account = (hung?: Deferred.Deferred<void>, interrupted?: Deferred.Deferred<void>) =>
  Behavior.make(Account, {
    initial: 0,
    receive: {
      Deposit: (balance, { amount }) => Effect.succeed(balance + amount),
      Withdraw: (balance, { amount }) =>
        amount > balance
          ? Effect.fail(new Insufficient({ balance }))
          : Effect.succeed({ state: balance - amount, reply: balance - amount }),
      Balance: (balance) => Effect.succeed({ state: balance, reply: balance }),
      Crash: () => Effect.die(new Error("account crashed")),
      Hang: () =>
        Effect.gen(function* () {
          if (hung !== undefined) yield* Deferred.succeed(hung, undefined)
          return yield* Effect.never
        }).pipe(
          Effect.onInterrupt(() => (interrupted === undefined ? Effect.void : Deferred.succeed(interrupted, undefined)))
        )
    }
  })

/** Waits on the real clock until `f` holds. */
const eventually = (f: () => boolean, what: string) =>
  Effect.promise(async () => {
    const start = Date.now()
    while (!f()) {
      if (Date.now() - start > 5000) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })

const eventuallyEffect = <A>(effect: Effect.Effect<A>, until: (a: A) => boolean, what: string) =>
  Effect.gen(function* () {
    const start = Date.now()
    for (;;) {
      const value = yield* effect
      if (until(value)) return value
      if (Date.now() - start > 5000) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("5 millis")
    }
  })

const two = (
  start: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Node>, unknown, import("effect").Scope.Scope>
) => Effect.map(start(["alice", "bob"]), ([alice, bob]) => ({ alice: alice!, bob: bob! }))

for (const topology of topologies) {
  describe(`across nodes (${topology.name})`, () => {
    const start = (names: ReadonlyArray<string>) => topology.start(names)

    it.live("tell and ask a remote actor: typed replies and typed failures cross the wire", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        yield* alice.system.spawn(account(), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        assert.strictEqual(remote.node, "alice")
        yield* remote.tell(Account.Deposit({ amount: 10 }))
        assert.strictEqual(yield* remote.ask(Account.Withdraw({ amount: 4 })), 6)
        const refused = yield* Effect.flip(remote.ask(Account.Withdraw({ amount: 100 })))
        assert.instanceOf(refused, Insufficient)
        assert.strictEqual((refused as Insufficient).balance, 6)
        // order per sender is kept
        for (let i = 0; i < 500; i++) yield* remote.tell(Account.Deposit({ amount: 1 }))
        assert.strictEqual(yield* remote.ask(Account.Balance()), 506)
      })
    )

    it.live("tells from many actors through one remote ref each carry their own sender, in order", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        const Log = Protocol.make("Log", {
          Note: { i: Schema.Number },
          Seen: Protocol.request({}, { success: Schema.Array(Schema.String) })
        })
        yield* alice.system.spawn(
          Behavior.make(Log, {
            initial: [] as ReadonlyArray<string>,
            receive: {
              Note: (seen, { i }, ctx) =>
                Effect.succeed([
                  ...seen,
                  `${i} ${Option.match(ctx.sender, { onNone: () => "-", onSome: (s) => s.path })}`
                ]),
              Seen: (seen) => Effect.succeed({ state: seen, reply: seen })
            }
          }),
          { name: "log" }
        )
        const log = yield* bob.system.lookup("/user/log", Log, { node: "alice" })
        const Writer = Protocol.make("Writer", {
          Write: Protocol.request({ i: Schema.Number }, { success: Schema.Void })
        })
        const writer = Behavior.make(Writer, {
          initial: null,
          receive: { Write: (state, { i }) => Effect.as(log.tell(Log.Note({ i })), { state, reply: undefined }) }
        })
        // more writers than a ref keeps envelope templates for, each writing in turn
        const writers = []
        for (let w = 0; w < 40; w++) writers.push(yield* bob.system.spawn(writer, { name: `writer-${w}` }))
        const expected: Array<string> = []
        for (let i = 0; i < 120; i++) {
          yield* writers[i % 40]!.ask(Writer.Write({ i }))
          expected.push(`${i} /user/writer-${i % 40}`)
        }
        yield* log.tell(Log.Note({ i: -1 }))
        assert.deepStrictEqual(yield* log.ask(Log.Seen()), [...expected, "-1 -"])
      })
    )

    it.live("tells that wait (behind a busy handler, in the stash) keep their own message and sender", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        const Work = Protocol.make("Work", {
          Job: { i: Schema.Number },
          Flush: {},
          Seen: Protocol.request({}, { success: Schema.Array(Schema.String) })
        })
        const note = (state: { readonly seen: ReadonlyArray<string>; readonly flushed: boolean }, entry: string) => ({
          ...state,
          seen: [...state.seen, entry]
        })
        yield* alice.system.spawn(
          Behavior.make(Work, {
            initial: { seen: [] as ReadonlyArray<string>, flushed: false },
            receive: {
              // a third handled at once, a third after a pause (the next ones queue), a third stashed until Flush
              Job: (state, { i }, ctx) => {
                const entry = `${i} ${Option.match(ctx.sender, { onNone: () => "-", onSome: (s) => s.path })}`
                if (i % 3 === 0 && !state.flushed) return ctx.stash
                if (i % 3 === 1) return Effect.as(Effect.sleep("1 millis"), note(state, entry))
                return Effect.succeed(note(state, entry))
              },
              Flush: (state, _, ctx) => Effect.as(ctx.unstashAll, { ...note(state, "flush"), flushed: true }),
              Seen: (state) => Effect.succeed({ state, reply: state.seen })
            }
          }),
          { name: "work" }
        )
        const work = yield* bob.system.lookup("/user/work", Work, { node: "alice" })
        const Writer = Protocol.make("Writer", {
          Burst: Protocol.request({ from: Schema.Number, to: Schema.Number }, { success: Schema.Void })
        })
        const writer = Behavior.make(Writer, {
          initial: null,
          receive: {
            Burst: (state, { from, to }) =>
              Effect.gen(function* () {
                for (let i = from; i < to; i++) yield* work.tell(Work.Job({ i }))
                return { state, reply: undefined }
              })
          }
        })
        const a = yield* bob.system.spawn(writer, { name: "a" })
        const b = yield* bob.system.spawn(writer, { name: "b" })
        yield* a.ask(Writer.Burst({ from: 0, to: 150 }))
        yield* b.ask(Writer.Burst({ from: 150, to: 300 }))
        yield* work.tell(Work.Flush())
        const entry = (i: number) => `${i} /user/${i < 150 ? "a" : "b"}`
        const expected: Array<string> = []
        for (let i = 0; i < 300; i++) if (i % 3 !== 0) expected.push(entry(i))
        expected.push("flush")
        for (let i = 0; i < 300; i += 3) expected.push(entry(i))
        assert.deepStrictEqual(yield* work.ask(Work.Seen()), expected)
      })
    )

    it.live("lookup on another node checks existence and protocol", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        yield* alice.system.spawn(account(), { name: "account" })
        const missing = yield* Effect.flip(bob.system.lookup("/user/nobody", Account, { node: "alice" }))
        assert.strictEqual(missing.reason, "no-actor")
        const Other = Protocol.make("Other", { Ping: {} })
        const mismatch = yield* Effect.flip(bob.system.lookup("/user/account", Other, { node: "alice" }))
        assert.strictEqual(mismatch.reason, "protocol-mismatch")
        const unknown = yield* Effect.flip(bob.system.lookup("/user/account", Account, { node: "carol" }))
        assert.strictEqual(unknown.reason, "unreachable")
      })
    )

    it.live("a remote ask times out and the remote handler's work is interrupted", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        const hung = yield* Deferred.make<void>()
        const interrupted = yield* Deferred.make<void>()
        yield* alice.system.spawn(account(hung, interrupted), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        const fiber = yield* Effect.forkChild(Effect.flip(remote.ask(Account.Hang(), { timeout: "200 millis" })))
        yield* Deferred.await(hung)
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "AskTimeout")
        yield* Deferred.await(interrupted)
        // the actor goes on
        assert.strictEqual(yield* remote.ask(Account.Balance()), 0)
      })
    )

    it.live("asking a terminated remote actor fails with RecipientTerminated", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        const local = yield* alice.system.spawn(account(), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        yield* alice.system.stop(local)
        const error = yield* Effect.flip(remote.ask(Account.Balance()))
        assert.strictEqual(error._tag, "RecipientTerminated")
      })
    )

    it.live("a message that does not decode on the receiving node is answered with InvalidMessage", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        // the two nodes disagree on the protocol (a version skew): alice expects a string
        const Skewed = Protocol.make("Account", {
          Withdraw: Protocol.request({ amount: Schema.String }, { success: Schema.Number })
        })
        yield* alice.system.spawn(
          Behavior.make(Skewed, { initial: 0, receive: { Withdraw: (s) => Effect.succeed({ state: s, reply: s }) } }),
          { name: "account" }
        )
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        const error = yield* Effect.flip(remote.ask(Account.Withdraw({ amount: 1 })))
        assert.strictEqual(error._tag, "InvalidMessage")
        assert.include((error as ActorRef.InvalidMessage).issue, "amount")
        // the link stays up
        assert.deepStrictEqual(yield* bob.system.nodes, ["alice"])
      })
    )

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

    it.live("refs inside messages cross nodes and can be replied to", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        const Greetings = Protocol.make("Greetings", { Greeting: { text: Schema.String } })
        const Greeter = Protocol.make("Greeter", {
          Greet: { name: Schema.String, replyTo: ActorRef.schema(Greetings) }
        })
        yield* alice.system.spawn(
          Behavior.make(Greeter, {
            initial: null,
            receive: {
              Greet: (s, { name, replyTo }) => Effect.as(replyTo.tell(Greetings.Greeting({ text: `hello ${name}` })), s)
            }
          }),
          { name: "greeter" }
        )
        const probe = yield* TestKit.probe(Greetings).pipe(Effect.provideService(ActorSystem.ActorSystem, bob.system))
        const greeter = yield* bob.system.lookup("/user/greeter", Greeter, { node: "alice" })
        yield* greeter.tell(Greeter.Greet({ name: "bob", replyTo: probe.ref }))
        assert.deepStrictEqual(yield* probe.expectMessage(), Greetings.Greeting({ text: "hello bob" }))
      })
    )

    it.live("one trace follows a request through several nodes", () => {
      const spans: Array<{ readonly name: string; readonly traceId: string }> = []
      const tracer = Tracer.make({
        span(options) {
          const span = Tracer.nativeTracer.span(options)
          spans.push({ name: options.name, traceId: span.traceId })
          return span
        }
      })
      return Effect.gen(function* () {
        const { alice, bob } = yield* two(topology.start)
        yield* alice.system.spawn(account(), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        yield* remote.ask(Account.Balance()).pipe(Effect.withSpan("client"))
        const client = spans.find((s) => s.name === "client")!
        const handled = spans.find((s) => s.name === "account.Balance")
        assert.isDefined(handled)
        assert.strictEqual(handled!.traceId, client.traceId)
      }).pipe(Effect.provide(Layer.succeed(Tracer.Tracer, tracer)))
    })

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
