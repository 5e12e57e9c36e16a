import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Protocol, Supervisor, TestKit } from "@troupe/runtime"
import { Effect, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { withSystem } from "./fixtures.ts"

const Clocked = Protocol.make("Clocked", {
  Once: { delayMillis: Schema.Number },
  Every: { intervalMillis: Schema.Number },
  Cancel: {},
  Tick: { key: Schema.String },
  Ticks: Protocol.request({}, { success: Schema.Array(Schema.String) }),
  Crash: {}
})

const clocked = Behavior.make(Clocked, {
  initial: [] as ReadonlyArray<string>,
  receive: {
    Once: (s, { delayMillis }, ctx) =>
      Effect.as(ctx.timers.startSingle("once", Clocked.Tick({ key: "once" }), delayMillis), s),
    Every: (s, { intervalMillis }, ctx) =>
      Effect.as(ctx.timers.startPeriodic("every", Clocked.Tick({ key: "every" }), intervalMillis), s),
    Cancel: (s, _, ctx) => Effect.as(Effect.andThen(ctx.timers.cancel("once"), ctx.timers.cancel("every")), s),
    Tick: (s, { key }) => Effect.succeed([...s, key]),
    Ticks: (s) => Effect.succeed({ state: s, reply: s }),
    Crash: () => Effect.die("crash")
  }
})

describe("timers", () => {
  it.effect("single and periodic timers send messages to self on the system clock", () =>
    withSystem(
      Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(clocked)
        yield* ref.tell(Clocked.Once({ delayMillis: 100 }))
        yield* ref.tell(Clocked.Every({ intervalMillis: 30 }))
        yield* ref.ask(Clocked.Ticks())
        yield* TestClock.adjust(99)
        assert.deepStrictEqual(
          (yield* ref.ask(Clocked.Ticks())).filter((k) => k === "once"),
          []
        )
        yield* TestClock.adjust(1)
        const ticks = yield* ref.ask(Clocked.Ticks())
        assert.deepStrictEqual(ticks, ["every", "every", "every", "once"])
        yield* ref.tell(Clocked.Cancel())
        yield* TestClock.adjust(100)
        assert.deepStrictEqual(yield* ref.ask(Clocked.Ticks()), ticks)
      })
    )
  )

  it.effect("timers are cancelled when the actor restarts", () =>
    withSystem(
      Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(clocked)
        yield* ref.tell(Clocked.Every({ intervalMillis: 10 }))
        yield* ref.tell(Clocked.Crash())
        yield* ref.ask(Clocked.Ticks())
        yield* TestClock.adjust(50)
        assert.deepStrictEqual(yield* ref.ask(Clocked.Ticks()), [])
      })
    )
  )
})

describe("stash", () => {
  it.effect("stashed messages come back in order, before newer ones, after unstashAll", () =>
    withSystem(
      Effect.gen(function* () {
        const Db = Protocol.make("Db", {
          Ready: {},
          Query: { q: Schema.String },
          Log: Protocol.request({}, { success: Schema.Array(Schema.String) })
        })
        const db = yield* ActorSystem.spawn(
          Behavior.make(Db, {
            initial: { ready: false, log: [] as ReadonlyArray<string> },
            receive: {
              Ready: (s, _, ctx) => Effect.as(ctx.unstashAll, { ...s, ready: true }),
              Query: (s, { q }, ctx) => (s.ready ? Effect.succeed({ ...s, log: [...s.log, q] }) : ctx.stash),
              Log: (s) => Effect.succeed({ state: s, reply: s.log })
            }
          })
        )
        yield* db.tell(Db.Query({ q: "a" }))
        yield* db.tell(Db.Query({ q: "b" }))
        yield* db.tell(Db.Ready())
        yield* db.tell(Db.Query({ q: "c" }))
        assert.deepStrictEqual(yield* db.ask(Db.Log()), ["a", "b", "c"])
      })
    )
  )

  it.effect("stashed messages go back to the mailbox on a restart, ahead of the newer ones", () =>
    withSystem(
      Effect.gen(function* () {
        const Db = Protocol.make("Db", {
          Query: { q: Schema.String },
          Crash: {},
          Log: Protocol.request({}, { success: Schema.Array(Schema.String) })
        })
        let incarnations = 0
        // the first incarnation stashes its queries; the one after the restart is ready for them
        const db = Behavior.make(Db, {
          init: () => Effect.sync(() => ({ ready: incarnations++ > 0, log: [] as ReadonlyArray<string> })),
          receive: {
            Query: (s, { q }, ctx) => (s.ready ? Effect.succeed({ ...s, log: [...s.log, q] }) : ctx.stash),
            Crash: () => Effect.die(new Error("crash")),
            Log: (s) => Effect.succeed({ state: s, reply: s.log })
          }
        })
        yield* ActorSystem.spawn(
          Supervisor.make({
            strategy: Supervisor.oneForOne({ backoff: false }),
            children: [Supervisor.child("db", db)]
          }),
          { name: "sup" }
        )
        const ref = yield* ActorSystem.lookup("/user/sup/db", Db)
        yield* ref.tell(Db.Query({ q: "a" }))
        yield* ref.tell(Db.Query({ q: "b" }))
        yield* ref.tell(Db.Crash())
        yield* ref.tell(Db.Query({ q: "c" }))
        assert.deepStrictEqual(yield* ref.ask(Db.Log()), ["a", "b", "c"])
        assert.strictEqual(incarnations, 2)
      })
    )
  )

  it.effect("a stashed timer message is handled after unstashing", () =>
    withSystem(
      Effect.gen(function* () {
        const Later = Protocol.make("Later", {
          Arm: {},
          Open: {},
          Tick: {},
          Ticks: Protocol.request({}, { success: Schema.Number })
        })
        const later = yield* ActorSystem.spawn(
          Behavior.make(Later, {
            initial: { open: false, ticks: 0 },
            receive: {
              Arm: (s, _, ctx) => Effect.as(ctx.timers.startSingle("tick", Later.Tick(), 10), s),
              Open: (s, _, ctx) => Effect.as(ctx.unstashAll, { ...s, open: true }),
              Tick: (s, _, ctx) => (s.open ? Effect.succeed({ ...s, ticks: s.ticks + 1 }) : ctx.stash),
              Ticks: (s) => Effect.succeed({ state: s, reply: s.ticks })
            }
          })
        )
        yield* later.tell(Later.Arm())
        yield* TestClock.adjust(10)
        assert.strictEqual(yield* later.ask(Later.Ticks()), 0)
        yield* later.tell(Later.Open())
        assert.strictEqual(yield* later.ask(Later.Ticks()), 1)
      })
    )
  )

  it.effect("a stashed request is answered when it is handled after unstashing", () =>
    withSystem(
      Effect.gen(function* () {
        const Gate = Protocol.make("Gate", { Open: {}, Get: Protocol.request({}, { success: Schema.String }) })
        const gate = yield* ActorSystem.spawn(
          Behavior.make(Gate, {
            initial: false,
            receive: {
              Open: (_, __, ctx) => Effect.as(ctx.unstashAll, true),
              Get: (open, _, ctx) => (open ? Effect.succeed({ state: open, reply: "open" }) : ctx.stash)
            }
          })
        )
        const probe = yield* TestKit.probe(Gate)
        const answer = yield* Effect.forkChild(gate.ask(Gate.Get()))
        yield* probe.expectNoMessage("5 millis")
        assert.isUndefined(answer.pollUnsafe())
        yield* gate.tell(Gate.Open())
        assert.strictEqual(yield* Fiber.join(answer), "open")
      })
    )
  )
})
