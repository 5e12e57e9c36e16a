import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Protocol, Supervisor, type SystemEvent } from "@troupe/runtime"
import { Effect, Fiber, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import { eventually, withSystem } from "./fixtures.ts"

const Worker = Protocol.make("Worker", {
  Bump: {},
  Crash: {},
  Stop: {},
  Count: Protocol.request({}, { success: Schema.Number })
})

/** A worker that records its lifecycle in `log` and counts Bumps since it (re)started. */
const worker = (name: string, log: Array<string>) =>
  Behavior.make(Worker, {
    init: () =>
      Effect.acquireRelease(
        Effect.sync(() => {
          log.push(`start ${name}`)
          return 0
        }),
        () => Effect.sync(() => log.push(`release ${name}`))
      ),
    receive: {
      Bump: (n) => Effect.succeed(n + 1),
      Crash: () => Effect.die(new Error(`${name} crashed`)),
      Stop: (n, _, ctx) => Effect.as(ctx.stopSelf, n),
      Count: (n) => Effect.succeed({ state: n, reply: n })
    }
  })

const events = <T extends SystemEvent.SystemEvent["_tag"]>(tag: T) =>
  Effect.gen(function* () {
    const system = yield* ActorSystem.ActorSystem
    const stream = yield* system.subscribe
    const out: Array<Extract<SystemEvent.SystemEvent, { _tag: T }>> = []
    yield* stream.pipe(
      Stream.filter((e): e is Extract<SystemEvent.SystemEvent, { _tag: T }> => e._tag === tag),
      Stream.runForEach((e) => Effect.sync(() => out.push(e))),
      Effect.forkScoped
    )
    return out
  })

const tree = (strategy: Supervisor.Strategy, log: Array<string>, names = ["a", "b", "c"]) =>
  Effect.gen(function* () {
    const root = yield* ActorSystem.spawn(
      Supervisor.make({ strategy, children: names.map((n) => Supervisor.child(n, worker(n, log))) }),
      { name: "sup" }
    )
    const refs = yield* Effect.forEach(names, (n) => ActorSystem.lookup(`/user/sup/${n}`, Worker))
    return { root, refs }
  })

const noBackoff = { backoff: false } as const

describe("supervision", () => {
  it.effect("one-for-one restarts only the failed child: fresh state, same ref, resources released", () =>
    withSystem(
      Effect.gen(function* () {
        const log: Array<string> = []
        const restarted = yield* events("Restarted")
        const { refs } = yield* tree(Supervisor.oneForOne(noBackoff), log)
        const [a, b] = refs as [(typeof refs)[0], (typeof refs)[0]]
        yield* a.tell(Worker.Bump())
        yield* b.tell(Worker.Bump())
        yield* a.tell(Worker.Crash())
        assert.strictEqual(yield* a.ask(Worker.Count()), 0, "a restarted with fresh state")
        assert.strictEqual(yield* b.ask(Worker.Count()), 1, "b untouched")
        assert.deepStrictEqual(log, ["start a", "start b", "start c", "release a", "start a"])
        yield* eventually(() => restarted.length === 1)
        assert.deepInclude(restarted[0], { path: "/user/sup/a", restarts: 1 })
      })
    )
  )

  it.effect("one-for-all stops all children in reverse order and restarts them in start order", () =>
    withSystem(
      Effect.gen(function* () {
        const log: Array<string> = []
        const restarted = yield* events("Restarted")
        const { refs } = yield* tree(Supervisor.oneForAll(noBackoff), log)
        const [a, b, c] = refs as [(typeof refs)[0], (typeof refs)[0], (typeof refs)[0]]
        yield* Effect.forEach([a, b, c], (r) => r.tell(Worker.Bump()), { discard: true })
        log.length = 0
        yield* b.tell(Worker.Crash())
        yield* eventually(() => restarted.length === 3, "three restarts")
        assert.deepStrictEqual(yield* Effect.forEach([a, b, c], (r) => r.ask(Worker.Count())), [0, 0, 0])
        assert.deepStrictEqual(log, ["release c", "release b", "release a", "start a", "start b", "start c"])
      })
    )
  )

  it.effect("rest-for-one restarts the failed child and those started after it", () =>
    withSystem(
      Effect.gen(function* () {
        const log: Array<string> = []
        const restarted = yield* events("Restarted")
        const { refs } = yield* tree(Supervisor.restForOne(noBackoff), log)
        const [a, b, c] = refs as [(typeof refs)[0], (typeof refs)[0], (typeof refs)[0]]
        yield* Effect.forEach([a, b, c], (r) => r.tell(Worker.Bump()), { discard: true })
        log.length = 0
        yield* b.tell(Worker.Crash())
        yield* eventually(() => restarted.length === 2, "two restarts")
        assert.deepStrictEqual(yield* Effect.forEach([a, b, c], (r) => r.ask(Worker.Count())), [1, 0, 0])
        assert.deepStrictEqual(log, ["release c", "release b", "start b", "start c"])
      })
    )
  )

  it.effect("a spent restart budget stops the children and escalates to the parent", () =>
    withSystem(
      Effect.gen(function* () {
        const log: Array<string> = []
        const escalated = yield* events("Escalated")
        const failed = yield* events("Failed")
        const { refs } = yield* tree(Supervisor.oneForOne({ maxRestarts: 2, within: "1 minute", backoff: false }), log)
        const a = refs[0]!
        for (let i = 0; i < 2; i++) {
          yield* a.tell(Worker.Crash())
          assert.strictEqual(yield* a.ask(Worker.Count()), 0)
        }
        log.length = 0
        yield* a.tell(Worker.Crash())
        yield* eventually(() => escalated.length === 1, "escalation")
        assert.deepInclude(escalated[0], { path: "/user/sup", child: "/user/sup/a" })
        const supervisorFailure = failed.find((f) => f.path === "/user/sup")
        assert.isDefined(supervisorFailure)
        assert.include(String(supervisorFailure?.cause), "RestartBudgetExhausted")
        // the guardian restarted the supervisor, which started its children again
        yield* eventually(() => log.filter((l) => l.startsWith("start")).length === 3, "the tree restarted")
        assert.deepStrictEqual(log, ["release c", "release b", "release a", "start a", "start b", "start c"])
        const fresh = yield* ActorSystem.lookup("/user/sup/a", Worker)
        assert.strictEqual(yield* fresh.ask(Worker.Count()), 0)
      })
    )
  )

  it.effect("restarts wait with exponential backoff, and the backoff resets after a healthy period", () =>
    withSystem(
      Effect.gen(function* () {
        const log: Array<string> = []
        const restarted = yield* events("Restarted")
        const strategy = Supervisor.oneForOne({
          maxRestarts: 100,
          within: "1 hour",
          backoff: Supervisor.backoff({ min: "100 millis", max: "1 second", jitter: 0, resetAfter: "10 seconds" })
        })
        const { refs } = yield* tree(strategy, log, ["a"])
        const a = refs[0]!
        const starts = () => log.filter((l) => l === "start a").length
        // first restart: immediate
        yield* a.tell(Worker.Crash())
        yield* eventually(() => starts() === 2)
        // then 100 ms, 200 ms, 400 ms
        for (const [i, delay] of [100, 200, 400].entries()) {
          yield* a.tell(Worker.Crash())
          yield* eventually(() => log.at(-1) === "release a")
          yield* TestClock.adjust(delay - 1)
          assert.strictEqual(starts(), 2 + i, `restart ${i + 2} waits ${delay} ms`)
          // messages sent during the backoff wait in the mailbox
          yield* a.tell(Worker.Bump())
          yield* TestClock.adjust(1)
          yield* eventually(() => starts() === 3 + i)
          assert.strictEqual(yield* a.ask(Worker.Count()), 1)
        }
        // capped at max
        yield* a.tell(Worker.Crash())
        yield* eventually(() => log.at(-1) === "release a")
        yield* TestClock.adjust(799)
        assert.strictEqual(starts(), 5)
        yield* TestClock.adjust(1)
        yield* eventually(() => starts() === 6)
        // healthy for longer than resetAfter: the next restart is immediate again
        yield* TestClock.adjust("11 seconds")
        yield* a.tell(Worker.Crash())
        yield* eventually(() => starts() === 7)
        assert.deepStrictEqual(
          restarted.map((r) => r.restarts),
          [1, 2, 3, 4, 5, 1]
        )
        assert.deepStrictEqual(
          restarted.map((r) => r.delayMillis),
          [0, 100, 200, 400, 800, 0]
        )
      })
    )
  )

  it.effect("the decider chooses per failure: resume keeps the state, stop ends the child", () =>
    withSystem(
      Effect.gen(function* () {
        const log: Array<string> = []
        const Flaky = Protocol.make("Flaky", {
          Bump: {},
          Oops: {},
          Fatal: {},
          Count: Protocol.request({}, { success: Schema.Number })
        })
        class Oops extends Schema.TaggedError<Oops>()("Oops", {}) {}
        const flaky = Behavior.make(Flaky, {
          initial: 0,
          receive: {
            Bump: (n) => Effect.succeed(n + 1),
            Oops: () => Effect.fail(new Oops()),
            Fatal: () => Effect.die("fatal"),
            Count: (n) => Effect.succeed({ state: n, reply: n })
          }
        })
        const parent = Behavior.make(Worker, {
          supervision: Supervisor.oneForOne({
            decider: Supervisor.decider({
              onFailure: (e) => ((e as { _tag?: string })._tag === "Oops" ? "resume" : "restart"),
              onDefect: () => "stop"
            })
          }),
          init: (ctx) => Effect.as(ctx.spawn(flaky, { name: "flaky" }), 0),
          receive: worker("p", log).receive
        })
        yield* ActorSystem.spawn(parent, { name: "parent" })
        const child = yield* ActorSystem.lookup("/user/parent/flaky", Flaky)
        yield* child.tell(Flaky.Bump())
        yield* child.tell(Flaky.Oops())
        yield* child.tell(Flaky.Bump())
        assert.strictEqual(yield* child.ask(Flaky.Count()), 2, "resumed with its state")
        const system = yield* ActorSystem.ActorSystem
        const termination = yield* Effect.forkChild(system.awaitTermination(child))
        yield* child.tell(Flaky.Fatal())
        const terminated = yield* Fiber.join(termination)
        assert.strictEqual(terminated.reason._tag, "Failed")
      })
    )
  )

  it.effect("permanent children restart after stopping themselves; transient and temporary do not", () =>
    withSystem(
      Effect.gen(function* () {
        const log: Array<string> = []
        yield* ActorSystem.spawn(
          Supervisor.make({
            strategy: Supervisor.oneForOne(noBackoff),
            children: [
              Supervisor.child("perm", worker("perm", log), { restart: "permanent" }),
              Supervisor.child("trans", worker("trans", log), { restart: "transient" }),
              Supervisor.child("temp", worker("temp", log), { restart: "temporary" })
            ]
          }),
          { name: "sup" }
        )
        const [perm, trans, temp] = yield* Effect.forEach(["perm", "trans", "temp"], (n) =>
          ActorSystem.lookup(`/user/sup/${n}`, Worker)
        )
        const system = yield* ActorSystem.ActorSystem
        yield* perm!.tell(Worker.Stop())
        yield* eventually(() => log.filter((l) => l === "start perm").length === 2, "perm restarted")
        yield* trans!.tell(Worker.Stop())
        assert.strictEqual((yield* system.awaitTermination(trans!)).reason._tag, "Stopped")
        yield* temp!.tell(Worker.Crash())
        assert.strictEqual((yield* system.awaitTermination(temp!)).reason._tag, "Failed")
        // transient children are restarted after a failure
        const sup = yield* ActorSystem.lookup("/user/sup", Supervisor.SupervisorProtocol)
        assert.deepStrictEqual(yield* sup.ask(Supervisor.SupervisorProtocol.Children()), ["/user/sup/perm"])
      })
    )
  )

  it.effect("a child whose init failed during a restart is restarted, not resumed on released resources", () =>
    withSystem(
      Effect.gen(function* () {
        // the state holds a connection that init opens in the actor's scope and a restart closes
        const Conn = Protocol.make("Conn", {
          Oops: {},
          Open: Protocol.request({}, { success: Schema.Boolean })
        })
        class Oops extends Schema.TaggedError<Oops>()("Oops", {}) {}
        let starts = 0
        const conn = Behavior.make(Conn, {
          init: () =>
            Effect.suspend(() =>
              ++starts === 2
                ? Effect.die(new Error("cannot connect"))
                : Effect.acquireRelease(Effect.succeed({ open: true }), (c) => Effect.sync(() => (c.open = false)))
            ),
          receive: {
            Oops: () => Effect.fail(new Oops()),
            Open: (c) => Effect.succeed({ state: c, reply: c.open })
          }
        })
        const failed = yield* events("Failed")
        yield* ActorSystem.spawn(
          Supervisor.make({
            // a typed failure restarts; a defect (here: init's) would be resumed
            strategy: Supervisor.oneForOne({
              backoff: false,
              decider: Supervisor.decider({ onFailure: () => "restart", onDefect: () => "resume" })
            }),
            children: [Supervisor.child("conn", conn)]
          }),
          { name: "sup" }
        )
        const child = yield* ActorSystem.lookup("/user/sup/conn", Conn)
        yield* child.tell(Conn.Oops())
        assert.isTrue(yield* child.ask(Conn.Open()), "runs on a fresh connection")
        assert.strictEqual(starts, 3)
        assert.deepStrictEqual(
          failed.map((e) => e.path),
          ["/user/sup/conn", "/user/sup/conn"]
        )
      })
    )
  )

  it.effect("a failed init during a restart counts as a failure of the child", () =>
    withSystem(
      Effect.gen(function* () {
        let starts = 0
        const fragile = Behavior.make(Worker, {
          init: () => Effect.suspend(() => (++starts >= 2 ? Effect.die(new Error("cannot start")) : Effect.succeed(0))),
          receive: worker("x", []).receive
        })
        const system = yield* ActorSystem.ActorSystem
        const ref = yield* ActorSystem.spawn(
          Supervisor.make({
            strategy: Supervisor.oneForOne({ maxRestarts: 3, within: "1 minute", backoff: false }),
            children: [Supervisor.child("fragile", fragile)]
          }),
          { name: "sup" }
        )
        const child = yield* ActorSystem.lookup("/user/sup/fragile", Worker)
        const waiting = yield* Effect.forkChild(system.awaitTermination(child))
        yield* child.tell(Worker.Crash())
        // 1 crash + 3 failed restarts spend the budget; the supervisor escalates and the guardian restarts
        // it, whose init fails to start its child, so the supervisor's own restart fails too
        yield* Fiber.join(waiting)
        assert.isAtLeast(starts, 4)
        yield* system.stop(ref)
      })
    )
  )
})

describe("the root guardian", () => {
  it.effect("when its budget is spent, it stops the failing top-level actor and leaves the others running", () =>
    withSystem(
      Effect.gen(function* () {
        const log: Array<string> = []
        const flaky = yield* ActorSystem.spawn(worker("flaky", log), { name: "flaky" })
        const steady = yield* ActorSystem.spawn(worker("steady", log), { name: "steady" })
        const system = yield* ActorSystem.ActorSystem
        const gone = yield* Effect.forkChild(system.awaitTermination(flaky))
        for (let i = 0; i < 3; i++) yield* flaky.tell(Worker.Crash())
        const terminated = yield* Fiber.join(gone)
        assert.strictEqual(terminated.reason._tag, "Failed")
        yield* steady.tell(Worker.Bump())
        assert.strictEqual(yield* steady.ask(Worker.Count()), 1)
      }),
      { guardian: Supervisor.oneForOne({ maxRestarts: 2, within: "1 minute", backoff: false }) }
    )
  )
})
