/**
 * The runtime's messaging across nodes, on both transports: the same tests run with the in-process
 * transport and with real WebSockets on loopback (failures and membership: remote-watch.test.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorRef, ActorSystem, Behavior, Protocol, TestKit } from "@troupe/runtime"
import { Deferred, Effect, Fiber, Layer, Option, Schema, Tracer } from "effect"
import { Account, account, Insufficient, two } from "./support/account.ts"
import { topologies } from "./support/topology.ts"

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

    it.live("asks from many actors through one remote ref each carry their own sender, id and reply", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two(start)
        const Who = Protocol.make("Who", {
          Whom: Protocol.request({ i: Schema.Number }, { success: Schema.String })
        })
        yield* alice.system.spawn(
          Behavior.make(Who, {
            initial: null,
            receive: {
              Whom: (state, { i }, ctx) =>
                Effect.succeed({
                  state,
                  reply: `${i} ${Option.match(ctx.sender, { onNone: () => "-", onSome: (s) => s.path })}`
                })
            }
          }),
          { name: "who" }
        )
        const who = yield* bob.system.lookup("/user/who", Who, { node: "alice" })
        const Asker = Protocol.make("Asker", {
          Ask: Protocol.request({ i: Schema.Number }, { success: Schema.String })
        })
        const asker = Behavior.make(Asker, {
          initial: null,
          receive: { Ask: (state, { i }) => Effect.map(who.ask(Who.Whom({ i })), (reply) => ({ state, reply })) }
        })
        // more askers than a ref keeps ask templates for (16), each asking in turn, and asks from outside any actor
        const askers = []
        for (let a = 0; a < 40; a++) askers.push(yield* bob.system.spawn(asker, { name: `asker-${a}` }))
        for (let i = 0; i < 120; i++) {
          assert.strictEqual(yield* askers[i % 40]!.ask(Asker.Ask({ i })), `${i} /user/asker-${i % 40}`)
          assert.strictEqual(yield* who.ask(Who.Whom({ i: -i })), `${-i} -`)
        }
        // asks in flight at once, from many askers: each reply reaches its own caller
        const replies = yield* Effect.forEach(askers, (a, i) => a.ask(Asker.Ask({ i: 1000 + i })), {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(
          replies,
          askers.map((_, i) => `${1000 + i} /user/asker-${i}`)
        )
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
  })
}
