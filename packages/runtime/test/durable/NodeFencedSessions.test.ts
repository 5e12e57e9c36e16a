/**
 * What a node that coordinates durable sessions and plays their roles does once its storage is fenced, in one process
 * on both databases (test/durable-node-name-fenced.test.ts does it with real processes on SQLite): its `once` effects
 * are held mid-session, a successor's takeover is written to `troupe_nodes` (as one from another host does, after this
 * one's lease ran out), and the node's heartbeat finds it out. Then:
 *
 * - one `DurableStopped` event says what was stopped (every session's coordinator, every role played here);
 * - each session's `await` fails with `NodeFenced` (not a deadline), and every held `once` effect is interrupted:
 *   none runs once the hold is gone;
 * - a successor of the same node name (a second storage and actor system: another process) takes the name over once
 *   the fake holder's heartbeat stood still for its lease, recovers the sessions and completes them: every `once`
 *   effect ran exactly once, over both.
 */
import { ActorSystem, DurableSession, Storage, type SystemEvent } from "@troupe/runtime"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, type Scope, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { databases } from "./databases.ts"
import { auditor, bank, client, type Effect_, Ledger } from "./ledger.ts"
import { takeOver } from "./successor.ts"

const SESSIONS = 3
const ROUNDS = 6
const expected = { C: (ROUNDS * (ROUNDS + 1)) / 2, B: (ROUNDS * (ROUNDS + 1)) / 2, A: ROUNDS }

/** The `once` effects of both "processes", and the hold the first's wait at once it is closed. */
const effects = () => {
  const runs: Array<{ readonly key: string; readonly by: "first" | "second" }> = []
  const hold = { closed: false, entered: 0, interrupted: 0, open: Deferred.makeUnsafe<void>() }
  const first: Effect_ = (session, role, n) =>
    Effect.gen(function* () {
      if (hold.closed) {
        hold.entered++
        yield* Deferred.await(hold.open).pipe(Effect.onInterrupt(() => Effect.sync(() => hold.interrupted++)))
      }
      runs.push({ key: `${session}/${role}/${n}`, by: "first" })
    })
  const second: Effect_ = (session, role, n) =>
    Effect.sync(() => runs.push({ key: `${session}/${role}/${n}`, by: "second" }))
  return { runs, hold, first, second }
}

/** Waits (polling, bounded) until `condition` holds. */
const until = (condition: () => boolean, what: string) =>
  Effect.gen(function* () {
    const since = Date.now()
    while (!condition()) {
      if (Date.now() - since > 30_000) return yield* Effect.die(new Error(`not within 30 s: ${what}`))
      yield* Effect.sleep("5 millis")
    }
  })

describe.each(databases())("a node of durable sessions whose storage is fenced ($name)", (db) => {
  it("stops its coordinators and roles (NodeFenced to whoever waits, no held once effect runs); a successor completes them", async () => {
    const location = await db.fresh()
    const { runs, hold, first, second } = effects()
    /** A "process" of node `n`: its own storage and actor system, its ledger participants spawned. */
    const node = (effect: Effect_) =>
      Effect.gen(function* () {
        const context = yield* Layer.build(
          Layer.provideMerge(ActorSystem.layer({ name: "n" }), db.layer(location, { nodeLease: "600 millis" }))
        )
        const system = <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem | Storage.Storage | Scope.Scope>) =>
          Effect.provideContext(effect, context)
        const roles = yield* system(
          Effect.all({
            C: ActorSystem.spawn(
              client(() => ROUNDS),
              { name: "C" }
            ),
            B: ActorSystem.spawn(bank(effect), { name: "B" }),
            A: ActorSystem.spawn(auditor(effect), { name: "A" })
          })
        )
        return { system, roles }
      })
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        const one = yield* node(first)
        const events = yield* one.system(Effect.flatMap(ActorSystem.ActorSystem, (s) => s.subscribe))
        const stopped = yield* Effect.forkScoped(
          Stream.runHead(Stream.filter(events, (e): e is SystemEvent.DurableStopped => e._tag === "DurableStopped"))
        )
        const handles = yield* one.system(
          Effect.forEach(
            Array.from({ length: SESSIONS }, (_, s) => `s-${s}`),
            (id) => DurableSession.start(Ledger, { roles: one.roles, id, deadline: "2 minutes" })
          )
        )
        const awaited = yield* Effect.forEach(handles, (h) => Effect.forkScoped(Effect.exit(h.await)))
        // mid-session: every session waits in a held once effect, and what ran before is committed
        yield* until(() => runs.length >= SESSIONS * 2, "the first ran once effects")
        hold.closed = true
        yield* until(() => hold.entered === SESSIONS, "every session waits in a held once effect")
        yield* one.system(Storage.Storage.use((storage) => storage.flush))
        const ranBefore = runs.length
        // a successor (on another host, after this one's lease ran out) takes the name over
        yield* takeOver({ heartbeatNow: true })
        // the first finds it out (its heartbeat, every 200 ms) and stops its durable work
        const event = yield* Fiber.join(stopped).pipe(
          Effect.timeout("10 seconds"),
          Effect.orElseSucceed(() => Option.none())
        )
        // what whoever waited for each session got: its error (bounded: "no outcome")
        const outcomes = yield* Effect.forEach(awaited, (f) =>
          Fiber.join(f).pipe(
            Effect.map((exit) => (Exit.isFailure(exit) ? Cause.squash(exit.cause) : "completed")),
            Effect.timeout("10 seconds"),
            Effect.orElseSucceed(() => "no outcome")
          )
        )
        yield* until(() => hold.interrupted === hold.entered, "every held once effect was interrupted")
        yield* Deferred.succeed(hold.open, undefined)
        const ranByFirst = runs.filter((r) => r.by === "first").length
        // the successor takes the name over (the successor's heartbeat stands still for its lease) and completes them
        const two = yield* node(second)
        const recovered = yield* two.system(DurableSession.recover([Ledger]))
        const completed = yield* Effect.forEach(recovered, (h) =>
          Effect.exit(h.await.pipe(Effect.timeout("60 seconds")))
        )
        return { event, outcomes, ranBefore, ranByFirst, completed, recovered: recovered.map((h) => h.id) }
      }).pipe(Effect.scoped, Effect.provide(db.client(location)))
    )
    if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
    const { event, outcomes, ranBefore, ranByFirst, completed, recovered } = exit.value
    expect(event._tag, "a DurableStopped event").toBe("Some")
    if (event._tag !== "Some") return
    expect(event.value).toMatchObject({ node: "n", actors: 0, sessions: SESSIONS, roles: SESSIONS * 3 })
    for (const outcome of outcomes) expect(outcome).toMatchObject({ _tag: "NodeFenced", node: "n" })
    expect(ranByFirst, "once effects the first ran after it was fenced").toBe(ranBefore)
    expect([...recovered].sort()).toEqual(Array.from({ length: SESSIONS }, (_, s) => `s-${s}`))
    for (const done of completed) {
      expect(Exit.isSuccess(done) && done.value.results).toEqual(expected)
    }
    // every once effect ran exactly once, over both processes
    const keys = runs.map((r) => r.key)
    expect(new Set(keys).size).toBe(SESSIONS * ROUNDS * 2)
    expect(keys.length).toBe(SESSIONS * ROUNDS * 2)
  }, 120_000)
})
