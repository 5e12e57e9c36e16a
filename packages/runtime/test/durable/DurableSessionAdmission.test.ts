/**
 * Durable sessions under admission (SQLite): a durable session takes its place among the sessions joining on its
 * coordinator's system (`maxJoiningSessions`) before it is stored.
 *
 * - A burst of far more durable sessions than the cap, started at once: never more than about the cap join at once
 *   (probe: the sessions a participant joined and that have not begun), and every one completes, each `once` effect
 *   run once. (On main every session joined at once: the probe saw the whole burst.)
 * - A session that waits in line longer than its own deadline fails with `SessionOverloaded`, and nothing of it is
 *   stored. (On main it was stored and joined.)
 * - The coordinator's node shut down in the middle of a burst, then started again: `recover` brings back every session
 *   stored (through the line, so that they do not all join at once either), each completes once, each `once` effect
 *   ran once across both processes; a session never stored left nothing.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Behavior, DurableSession, Session, Storage } from "@troupe/runtime"
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { Admission } from "../../src/choreography/internal/sessionAdmission.ts"
import { joinProbe } from "./joinProbe.ts"
import { auditor, bank, client, type Effect_, Ledger } from "./ledger.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-admission-"))
let files = 0
const fresh = () => join(dir, `db-${++files}.sqlite`)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `effect` on a fresh actor system letting `cap` sessions join at once, over the SQLite file `filename`. */
const onStorage = <A, E>(
  filename: string,
  cap: number,
  effect: Effect.Effect<A, E, ActorSystem.ActorSystem | Storage.Storage>
) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(ActorSystem.layer({ name: "ledger", maxJoiningSessions: cap, askTimeout: "30 seconds" })),
      Effect.provide(Storage.layerSqlite({ filename }))
    )
  )

/** Records each once effect as `session/role/n`. */
const recorder = () => {
  const effects: Array<string> = []
  const record: Effect_ = (session, role, n) => Effect.sync(() => effects.push(`${session}/${role}/${n}`))
  return { effects, record }
}

/** The ledger's participants (one deposit per session), the bank's Joins probed. */
const spawnLedger = (record: Effect_, probe: ReturnType<typeof joinProbe>) =>
  Effect.gen(function* () {
    const C = yield* ActorSystem.spawn(
      client(() => 1),
      { name: "C" }
    )
    const B = yield* ActorSystem.spawn(probe.wrap(bank(record)), { name: "B" })
    const A = yield* ActorSystem.spawn(auditor(record), { name: "A" })
    return { C, B, A }
  })

const tagOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isSuccess(exit) ? "ok" : ((Cause.squash(exit.cause) as { _tag?: string })._tag ?? "?")

describe("durable sessions under admission (SQLite)", () => {
  it("a burst of 300 at once with 8 joining at a time: never many more join at once, every one completes once", async () => {
    const filename = fresh()
    const { effects, record } = recorder()
    const probe = joinProbe()
    const n = 300
    const cap = 8
    const result = await onStorage(
      filename,
      cap,
      Effect.gen(function* () {
        const roles = yield* spawnLedger(record, probe)
        const exits = yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          (i) => Effect.exit(DurableSession.run(Ledger, { roles, id: `b-${i}`, deadline: "60 seconds" })),
          { concurrency: "unbounded" }
        )
        const admission = Admission.of(ActorSystem.internal(yield* ActorSystem.ActorSystem))
        return { tags: exits.map(tagOf), after: { joining: admission.joining, waiting: admission.waiting } }
      })
    )
    console.log(`${n} durable sessions, cap ${cap}: at most ${probe.most()} joined and not begun at once`)
    expect(result.tags.filter((t) => t !== "ok")).toEqual([])
    expect(result.after).toEqual({ joining: 0, waiting: 0 })
    // a place is held from before the first Join to the begin's answer (on main: the whole burst joined at once)
    expect(probe.most()).toBeLessThanOrEqual(cap)
    // each once effect ran once
    expect(effects.length).toBe(2 * n)
    expect(new Set(effects).size).toBe(2 * n)
  }, 180_000)

  it("a session that waits in line longer than its deadline fails with SessionOverloaded, and nothing of it is stored", async () => {
    const filename = fresh()
    const result = await onStorage(
      filename,
      1,
      Effect.gen(function* () {
        // B never answers a Join: the first session holds the only place until its deadline
        const B = yield* ActorSystem.spawn(
          Behavior.make(Session.protocolOf(Ledger, "B"), {
            initial: null,
            receive: {
              Join: () => Effect.never,
              Begin: (state) => Effect.succeed(state),
              Deliver: (state) => Effect.succeed(state),
              Abort: (state) => Effect.succeed(state),
              CoordinatorDown: (state) => Effect.succeed(state),
              Crash: (state) => Effect.succeed(state),
              Resume: (state) => Effect.succeed(state)
            }
          }),
          { name: "B" }
        )
        const C = yield* ActorSystem.spawn(
          client(() => 1),
          { name: "C" }
        )
        const A = yield* ActorSystem.spawn(
          auditor(() => Effect.void),
          { name: "A" }
        )
        const first = yield* DurableSession.start(Ledger, { roles: { C, B, A }, id: "first", deadline: "20 seconds" })
        const since = Date.now()
        const refused = yield* Effect.exit(
          DurableSession.start(Ledger, { roles: { C, B, A }, id: "second", deadline: "500 millis" })
        )
        const waited = Date.now() - since
        const stored = yield* DurableSession.outcome("second")
        yield* first.abort("the test is done")
        return { refused, waited, stored, first: yield* DurableSession.outcome("first") }
      })
    )
    const error = Exit.isFailure(result.refused) ? Cause.squash(result.refused.cause) : result.refused
    expect(error).toBeInstanceOf(Session.SessionOverloaded)
    expect(error).toMatchObject({ session: "second", protocol: "Ledger", joining: 1, waiting: 0 })
    expect((error as Session.SessionOverloaded).waitedMillis).toBeGreaterThanOrEqual(500)
    expect(result.waited).toBeLessThan(10_000)
    // nothing stored for the session refused; the first one is
    expect(Option.isNone(result.stored)).toBe(true)
    expect(Option.isSome(result.first)).toBe(true)
  }, 60_000)

  it("the coordinator's node shut down mid-burst: recover completes every session stored, once; the others left nothing", async () => {
    const filename = fresh()
    const { effects, record } = recorder()
    const n = 60
    const cap = 4
    // a first "process": the burst starts, and the node shuts down once some sessions ran their effects
    const first = await onStorage(
      filename,
      cap,
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const roles = yield* spawnLedger(record, joinProbe())
        const starts = yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          (i) =>
            Effect.forkChild(Effect.exit(DurableSession.start(Ledger, { roles, id: `r-${i}`, deadline: "60 seconds" })))
          // (forked by this fiber: a fork of a worker of a concurrent forEach ends with it)
        )
        while (effects.length < 20) yield* Effect.sleep("1 millis")
        yield* system.shutdown
        // a start in line when the node stopped ends too (SystemShuttingDown, nothing stored), not hung
        const exits = yield* Effect.forEach(
          starts,
          (f) => Effect.exit(Fiber.join(f).pipe(Effect.flatten, Effect.timeout("20 seconds"))),
          { concurrency: "unbounded" }
        )
        return exits.map(tagOf)
      })
    )
    const ranBefore = effects.length
    expect(ranBefore).toBeGreaterThanOrEqual(20)
    // a second "process" on the same storage: the participants again, then the coordinators from the storage
    const probe = joinProbe()
    const second = await onStorage(
      filename,
      cap,
      Effect.gen(function* () {
        yield* spawnLedger(record, probe)
        const admission = Admission.of(ActorSystem.internal(yield* ActorSystem.ActorSystem))
        let mostJoining = 0
        const sample = setInterval(() => {
          mostJoining = Math.max(mostJoining, admission.joining)
        }, 1)
        const handles = yield* DurableSession.recover([Ledger])
        mostJoining = Math.max(mostJoining, admission.joining)
        const exits = yield* Effect.forEach(handles, (h) => Effect.exit(h.await), { concurrency: "unbounded" })
        clearInterval(sample)
        const outcomes = yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => `r-${i}`),
          (id) => Effect.map(DurableSession.outcome(id), (o) => (Option.isNone(o) ? "none" : o.value._tag))
        )
        return { recovered: exits.map(tagOf), outcomes, mostJoining, waiting: admission.waiting }
      })
    )
    console.log(
      `first process: starts ${JSON.stringify(count(first))}, ${ranBefore} effects; recovered ${second.recovered.length} ` +
        `${JSON.stringify(count(second.recovered))}, most joined-not-begun ${probe.most()}, most joining ${second.mostJoining}; stored ${JSON.stringify(count(second.outcomes))}`
    )
    // some sessions were recovered (the node stopped mid-burst), and every one completed
    expect(second.recovered.length).toBeGreaterThan(0)
    expect(second.recovered.filter((t) => t !== "ok")).toEqual([])
    // every start ended: a handle, or the system stopping (typed)
    expect(first.filter((t) => t !== "ok" && t !== "SystemShuttingDown")).toEqual([])
    // every session that was started (its start answered a handle) is stored, and completed; one whose start failed
    // was not stored (or is stored as aborted, its coordinator not spawned): nothing half-stored, nothing run twice
    first.forEach((tag, i) => {
      if (tag === "ok") expect(second.outcomes[i]).toBe("Completed")
      else expect(["none", "Aborted"]).toContain(second.outcomes[i])
    })
    // each once effect ran once across both processes, and only for sessions stored
    const completed = second.outcomes.filter((o) => o === "Completed").length
    expect(new Set(effects).size).toBe(effects.length)
    expect(effects.length).toBe(2 * completed)
    // the recovered coordinators joined through the line too (on main they took no place)
    expect(probe.most()).toBeLessThanOrEqual(cap)
    expect(second.mostJoining).toBeGreaterThan(0)
    expect(second.mostJoining).toBeLessThanOrEqual(cap)
    expect(second.waiting).toBe(0)
  }, 180_000)
})

const count = (tags: ReadonlyArray<string>) => {
  const counts: Record<string, number> = {}
  for (const t of tags) counts[t] = (counts[t] ?? 0) + 1
  return counts
}
