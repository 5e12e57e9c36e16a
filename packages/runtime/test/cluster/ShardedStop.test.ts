/**
 * A runner's stop and a bucket leaving it: bounded, with what did not stop reported, and no actor started again on
 * the runner for a message that came through a bucket that left (the message is the next owner's). With
 * `TROUPE_CLUSTER=1`, two runner processes on a real PostgreSQL server: one stopped gracefully while messages to its
 * actors are in flight.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ActorSystem, Behavior, Cluster, Entity, Protocol, Sharded, Storage, type SystemEvent } from "@troupe/runtime"
import { Deferred, Effect, Exit, Fiber, Layer, Logger, References, Schema, Scope, Stream } from "effect"
import type { Sharding } from "effect/cluster"
import { afterAll, describe, expect, it } from "vitest"
import { boundedStop } from "../../src/cluster/internal/boundedStop.ts"
import * as Postgres from "../durable/postgres.ts"
import { Ledger, Ledgers } from "./ledger.ts"
import * as Processes from "./processes.ts"
import { testSharding } from "./runner.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-sharded-stop-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const Stuck = Protocol.make("Stuck", { Hang: {} })
/** Released by each test at its end: what the stuck actors wait for. */
let release = Deferred.makeUnsafe<void>()

/**
 * An actor that cannot be stopped in time: its handler waits uninterruptibly, and so does its resource's release.
 */
const Stucks = Sharded.make("Stuck", {
  behavior: () =>
    Behavior.make(Stuck, {
      init: () =>
        Effect.as(
          Effect.addFinalizer(() => Deferred.await(release)),
          null
        ),
      receive: { Hang: (s) => Effect.as(Effect.uninterruptible(Deferred.await(release)), s) }
    }),
  buckets: 4,
  stopTimeout: "300 millis"
})

describe("a sharded runner's stop", () => {
  it("ends within its deadlines when an actor does not stop, and names the actor", async () => {
    release = Deferred.makeUnsafe<void>()
    const logs: Array<string> = []
    const capture = Logger.layer([
      Logger.make(({ message, fiber }) => {
        const text = (message as ReadonlyArray<unknown>).join(" ")
        logs.push(`${text} ${JSON.stringify(fiber.getRef(References.CurrentLogAnnotations))}`)
      })
    ])
    const events: Array<SystemEvent.SystemEvent> = []
    // (a layer under the sharded type's: it sees the events of the whole stop)
    const record = Layer.effectDiscard(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        yield* Effect.forkScoped(Stream.runForEach(yield* system.subscribe, (e) => Effect.sync(() => events.push(e))))
      })
    )
    const runner = Sharded.layer(Stucks).pipe(
      Layer.provideMerge(record),
      Layer.provideMerge(ActorSystem.layer({ shutdownTimeout: "500 millis" })),
      Layer.provideMerge(Cluster.layerSqlite({ filename: join(dir, "stop.db") }))
    )
    let stopping = 0
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          yield* (yield* Sharded.ref(Stucks, "x")).tell(Stuck.Hang())
          while ((yield* Sharded.active(Stucks)) === 0) yield* Effect.sleep(10)
          stopping = Date.now()
        })
      ).pipe(Effect.provide(runner), Effect.provide(capture))
    )
    const took = Date.now() - stopping
    Effect.runSync(Deferred.succeed(release, undefined))
    // bounded: the bucket's 300 ms, then the actor's 500 ms deadlines (handler, interruption, resources)
    expect(took).toBeLessThan(15_000)
    const timedOut = events.filter((e) => e._tag === "StopTimedOut").map((e) => (e as { path: string }).path)
    expect(timedOut).toContain("/user/Stuck/x")
    expect(logs.some((l) => l.includes("did not stop within the stop deadline") && l.includes("/user/Stuck/x"))).toBe(
      true
    )
  }, 60_000)
})

describe("the cluster engine's stop", () => {
  it("is bounded: a release that does not end is left running, logged, and the stop goes on", async () => {
    const logs: Array<string> = []
    const capture = Logger.layer([
      Logger.make(({ message }) => logs.push((message as ReadonlyArray<unknown>).join(" ")))
    ])
    const never = Deferred.makeUnsafe<void>()
    const engine = Layer.effectDiscard(Effect.addFinalizer(() => Deferred.await(never)))
    const started = Date.now()
    await Effect.runPromise(
      Effect.scoped(Layer.build(boundedStop(engine, 200, "The engine"))).pipe(Effect.provide(capture))
    )
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(logs).toContain("The engine did not stop within the stop deadline; the stop goes on without it")
    Effect.runSync(Deferred.succeed(never, undefined))
  })
})

const Note = Protocol.make("Note", { Hold: {}, Add: { n: Schema.Number } })
const handled: Array<number> = []
let hold = Deferred.makeUnsafe<void>()
const Notes = Entity.make("note", Note, {
  behavior: () =>
    Behavior.make(Note, {
      initial: null,
      receive: {
        Hold: (s) => Effect.as(Deferred.await(hold), s),
        Add: (s, { n }) => Effect.sync(() => handled.push(n)).pipe(Effect.as(s))
      }
    })
})

describe("an entity whose bucket left the runner", () => {
  it("is not started again for a message that came through that bucket; the sender is refused", async () => {
    hold = Deferred.makeUnsafe<void>()
    let left = false
    const gone = { now: () => left, refuse: Effect.interrupt }
    const outcome = await Effect.runPromise(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const spawned: Array<string> = []
        yield* Effect.forkScoped(
          Stream.runForEach(yield* system.subscribe, (e) =>
            Effect.sync(() => {
              if (e._tag === "Spawned") spawned.push(e.path)
            })
          )
        )
        const ref = yield* Entity.deliveryRef(Notes, "x", gone)
        yield* ref.tell(Note.Hold())
        while ((yield* Entity.active(Notes)) === 0) yield* Effect.yieldNow
        // the bucket leaves: its actor is being stopped (it finishes its message first)...
        const leaving = yield* Effect.forkChild(Entity.leave(Notes, ["x"]))
        while ((yield* Entity.ids(Notes)).length > 0) yield* Effect.yieldNow
        // ...when a message comes through it: it waits for the entity, which is not live
        const late = yield* Effect.forkChild(Effect.exit(ref.tell(Note.Add({ n: 1 }))))
        yield* Effect.yieldNow
        left = true
        yield* Deferred.succeed(hold, undefined)
        yield* Fiber.join(leaving)
        const exit = yield* Fiber.join(late)
        // a sender whose bucket is still here (the shard came back) starts it again
        const back = yield* Entity.deliveryRef(Notes, "x")
        yield* back.tell(Note.Add({ n: 2 }))
        while (handled.length === 0) yield* Effect.yieldNow
        return { exit, spawned, active: handled }
      }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer()))
    )
    expect(Exit.isFailure(outcome.exit) && Exit.hasInterrupts(outcome.exit)).toBe(true)
    // spawned twice: for Hold, then for the second sender; never for the refused message
    expect(outcome.spawned.filter((p) => p === "/user/note/x")).toHaveLength(2)
    expect(handled).toEqual([2])
  })
})

const Turn = Protocol.make("Turn", { Take: Protocol.request({ n: Schema.Number }, { success: Schema.Number }) })
/** What the `Turn` actors did, in order: `start n`, then `end n` or `interrupted n`. */
const turns: Array<string> = []
let turnStarted = Deferred.makeUnsafe<void>()
let turnLatch = Deferred.makeUnsafe<void>()
const turnBehavior = () =>
  Behavior.make(Turn, {
    initial: 0,
    receive: {
      Take: (s, { n }) =>
        Effect.gen(function* () {
          turns.push(`start ${n}`)
          yield* Deferred.succeed(turnStarted, undefined)
          yield* Deferred.await(turnLatch)
          turns.push(`end ${n}`)
          return { state: s + 1, reply: n }
        }).pipe(Effect.onInterrupt(() => Effect.sync(() => turns.push(`interrupted ${n}`))))
    }
  })
/** A durable actor: its messages are stored by the cluster and go through its inbox. */
const DurableTurns = Sharded.make("DurableTurn", { behavior: turnBehavior, state: Schema.Number, buckets: 1 })
/** A volatile actor whose messages the cluster stores (`persisted`): a message it did not answer is replayed. */
const VolatileTurns = Sharded.make("VolatileTurn", { behavior: turnBehavior, persisted: true, buckets: 1 })

/**
 * Runs `Take 1` on a runner that stops while the handler waits, past the engine's drain deadline for the bucket's
 * requests (it then gives up on them: the cluster keeps a persisted one for the next owner), and lets the handler go
 * on only once the bucket has left; then a second runner on the same database takes `Take 2`. Returns what the
 * actors did.
 */
const turnAcrossStop = async (type: typeof DurableTurns | typeof VolatileTurns, file: string) => {
  turns.length = 0
  turnStarted = Deferred.makeUnsafe<void>()
  turnLatch = Deferred.makeUnsafe<void>()
  const runner = Sharded.layer(type).pipe(
    Layer.provideMerge(ActorSystem.layer()),
    Layer.provideMerge(Cluster.layerSqlite({ filename: file, sharding: { entityTerminationTimeout: "300 millis" } }))
  )
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(runner, scope))
  const here = <A, E>(effect: Effect.Effect<A, E, Sharding.Sharding | ActorSystem.ActorSystem>) =>
    Effect.provideContext(effect, context)
  const asked = Effect.runPromiseExit(
    here(Effect.flatMap(Sharded.ref(type, "t"), (t) => t.ask(Turn.Take({ n: 1 }), { timeout: "30 seconds" })))
  )
  await Effect.runPromise(Deferred.await(turnStarted))
  const stopped = Effect.runPromise(Scope.close(scope, Exit.void))
  // the bucket has left once its actor is no longer live (being stopped)
  await Effect.runPromise(
    here(
      Effect.gen(function* () {
        while ((yield* Entity.ids(type.kind)).length > 0) yield* Effect.sleep(5)
      })
    )
  )
  await Effect.runPromise(Deferred.succeed(turnLatch, undefined))
  await stopped
  await asked
  const second = await Effect.runPromise(
    Effect.scoped(Effect.flatMap(Sharded.ref(type, "t"), (t) => t.ask(Turn.Take({ n: 2 })))).pipe(
      Effect.provide(runner)
    )
  )
  return { second, turns: [...turns] }
}

describe("a bucket that leaves while its actor handles a message", () => {
  it("of a durable type: the actor finishes its turn, and the next owner does not handle the message again", async () => {
    const { second, turns } = await turnAcrossStop(DurableTurns, join(dir, "turn-durable.db"))
    expect(second).toBe(2)
    expect(turns).toEqual(["start 1", "end 1", "start 2", "end 2"])
  }, 60_000)

  // The trade of the engine's drain deadline (docs/cluster.md "Stopping a runner"): a volatile ask's delivery is its
  // caller, and the engine interrupting it there cancels the actor's turn; the cluster replays a persisted one.
  it("of a volatile type: the turn is bounded by the engine's drain deadline, then handled by the next owner", async () => {
    const { second, turns } = await turnAcrossStop(VolatileTurns, join(dir, "turn-volatile.db"))
    expect(second).toBe(2)
    expect(turns).toEqual(["start 1", "interrupted 1", "start 1", "end 1", "start 2", "end 2"])
  }, 60_000)
})

const clusterEnabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
const logs = mkdtempSync(join(tmpdir(), "troupe-stop-runners-"))
const RUNNER = fileURLToPath(new URL("./runner.ts", import.meta.url))

describe.skipIf(!clusterEnabled)("a runner stopped gracefully with messages in flight to its actors", () => {
  const { runners, url } = Processes.postgresAndRunners()

  it("hands them over: each message is recorded once, and the stop ends within its bound", async () => {
    for (const name of ["s1", "s2"]) runners.push(await Processes.startRunner(RUNNER, url(), name, logs))
    console.log(`runner logs in ${logs}`)
    const client = Layer.orDie(Cluster.layerPostgres({ url: url(), clientOnly: true, shards: 30, ...testSharding }))
    const run = <A, E>(effect: Effect.Effect<A, E, Sharding.Sharding>) =>
      Effect.runPromise(Effect.provide(effect, client) as Effect.Effect<A>)
    const ids = Array.from({ length: 24 }, (_, i) => `inflight-${i}`)
    const ROUNDS = 30
    // each ledger is told 1..ROUNDS in order; s1 is stopped when half the rounds are accepted, while the rest go on
    let stopped: Promise<number | null> | undefined
    let stopAt = 0
    await run(
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Ledgers)
        for (let seq = 1; seq <= ROUNDS; seq++) {
          yield* Effect.forEach(ids, (id) => refs(id).tell(Ledger.Record({ seq })), { concurrency: "unbounded" })
          if (seq === ROUNDS / 2) {
            stopAt = Date.now()
            runners[0]!.child.kill("SIGTERM")
            stopped = runners[0]!.exited
          }
        }
      })
    )
    // the stop ends, gracefully, within its bound (30 s per bucket, a few seconds per actor, the handoff)
    expect(await stopped).toBe(0)
    console.log(`s1 stopped in ${Date.now() - stopAt} ms`)
    const seen = await run(
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Ledgers)
        return yield* Effect.forEach(ids, (id) => refs(id).ask(Ledger.Seen(), { timeout: "2 minutes" }), {
          concurrency: "unbounded"
        })
      })
    )
    const all = Array.from({ length: ROUNDS }, (_, i) => i + 1)
    expect(seen.filter((s) => s.join() !== all.join())).toEqual([])
  }, 300_000)

  // A runner's graceful stop hung for more than 6 minutes under 8 CPU burners (Runners.test.ts): the engine's stop
  // passed its deadline and was left running, then the database pool's shutdown waited for the connections that
  // engine still held (Effect's Pool waits for every item in use), with no deadline.
  it("ends within its bound when a database connection is never given back (an engine left running holds it)", async () => {
    const captured: Array<string> = []
    const capture = Logger.layer([
      Logger.make(({ message }) => captured.push((message as ReadonlyArray<unknown>).join(" ")))
    ])
    const never = Deferred.makeUnsafe<void>()
    let closing = 0
    const stop = Effect.runPromise(
      Effect.gen(function* () {
        const { sql } = Storage.internal(yield* Storage.Storage)
        // a connection taken and never given back, as by a fiber of an engine whose stop was left running
        const taken = yield* Deferred.make<void>()
        yield* Effect.forkDetach(
          Effect.scoped(
            Effect.andThen(sql.reserve, Effect.andThen(Deferred.succeed(taken, undefined), Deferred.await(never)))
          )
        )
        yield* Deferred.await(taken)
        closing = Date.now()
      }).pipe(
        Effect.provide(
          Cluster.layerPostgres({
            url: url(),
            host: "127.0.0.1",
            port: await Postgres.freePort(),
            shards: 30,
            ...testSharding,
            storageStopTimeout: "1 second"
          })
        ),
        Effect.provide(capture)
      ) as Effect.Effect<void>
    )
    const hung = new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 60_000).unref())
    // before: "hung" (the pool's shutdown waited for the connection for ever)
    expect(await Promise.race([stop.then(() => "stopped" as const), hung])).toBe("stopped")
    expect(Date.now() - closing).toBeLessThan(30_000)
    expect(captured).toContain(
      "The database client (connections still in use) did not stop within the stop deadline; the stop goes on without it"
    )
    Effect.runSync(Deferred.succeed(never, undefined))
  }, 120_000)
})
