/**
 * Sessions with sharded roles on one SQLite runner: the roles are sharded actors bound by (type, id), the
 * coordinator a sharded actor too; they complete, a monitor refuses an illegal move, a step deadline fires, a role
 * of a type no runner hosts (or only another cluster's runner in the process) or not sharded is refused. With `TROUPE_CLUSTER=1`, the starter's wait, the abort of roles
 * activated anew and the refusal of sharded roles by `Session.run` run on a PostgreSQL runner too (a real server
 * started here). Roles passivated mid-session: `ShardedSessionResume.test.ts`.
 */
import { ActorSystem, Cluster, DurableSession, type Endpoint, Session, Sharded, ShardedSession } from "@troupe/runtime"
import { type Duration, Effect, Exit, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import { participantsOf } from "../../src/choreography/internal/participant.ts"
import { client, Ledger } from "../durable/ledger.ts"
import * as Postgres from "../durable/postgres.ts"
import {
  Auditors,
  Banks,
  Clients,
  IdleAuditors,
  IdleBanks,
  ledgerRoles,
  type Run,
  ranOnce,
  roundsOf,
  runOn,
  runSqlite
} from "./ledgerRunner.ts"
import { postgresAndRunners } from "./processes.ts"

/** The PostgreSQL runs (a real server started here) come with `TROUPE_CLUSTER=1`. */
const onPostgres = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined

/** A client that breaks the protocol: it sends the auditor a deposit (C never talks to A). */
const Cheats = Sharded.make("LedgerCheat", {
  behavior: () =>
    Session.role(Ledger, "C", (typed) =>
      (typed as unknown as Endpoint.UntypedEndpoint<Session.Failure>).send("A", "deposit", 1)
    )
})

/** Clients of a type no runner hosts. */
const Ghosts = Sharded.make("LedgerGhost", { behavior: () => client(roundsOf) })

/** Clients of a type only another cluster's runner hosts. */
const Strays = Sharded.make("LedgerStray", { behavior: () => client(roundsOf) })

/** A client that never makes its first move. */
const Sleepers = Sharded.make("LedgerSleeper", {
  behavior: () => Session.role(Ledger, "C", () => Effect.never)
})

/** The types a runner of these tests hosts. */
const hosted = [Clients, Banks, Auditors, IdleBanks, IdleAuditors, Cheats, Sleepers] as const

/** Runs `effect` on a SQLite runner of its own, on a fresh file. */
const run = runSqlite(hosted)

/** Why the ledger session `id` with clients of type `clients` was aborted (`undefined` if it was not). */
const abortCause = <A>(
  id: string,
  clients: Sharded.Sharded<Session.Participant<typeof Ledger, "C", A>, never>,
  options: { readonly stepTimeout?: Duration.Input; readonly deadline?: Duration.Input } = {}
) =>
  run(
    Effect.flatMap(ledgerRoles(id, clients), (roles) =>
      Effect.flip(ShardedSession.run(Ledger, { roles, id, deadline: "10 seconds", ...options }))
    )
  ).then((error) => (error._tag === "SessionAborted" ? error.cause : undefined))

/** What issue 14 left, on any runner (SQLite here, PostgreSQL below): the starter's wait, aborts, sharded roles refused. */
const leftTests = (run: Run) => {
  it("tell the starter of the end as it happens: it reads the stored outcome once it ended, not every 200 ms", async () => {
    // the statements the starter runs while it waits, from the database client's spans
    const spans: Array<Tracer.NativeSpan> = []
    const tracer = Tracer.make({
      span(options) {
        const span = new Tracer.NativeSpan(options)
        spans.push(span)
        return span
      }
    })
    const cause = await run(
      Effect.gen(function* () {
        const roles = yield* ledgerRoles("slow", Sleepers)
        // the client never moves: the session ends at its bank's (or its auditor's) step deadline, 1.5 s after it began
        const handle = yield* ShardedSession.start(Ledger, { roles, id: "slow", stepTimeout: "1500 millis" })
        const error = yield* Effect.flip(handle.await.pipe(Effect.withTracer(tracer)))
        return error._tag === "SessionAborted" ? error.cause : error
      })
    )
    expect(cause).toMatchObject({ _tag: "StepTimeout", state: 0 })
    expect(["B", "A"]).toContain((cause as { readonly role?: string }).role)
    const reads = spans.filter((span) => String(span.attributes.get("db.query.text")).includes("FROM troupe_sessions"))
    // one before the coordinator's runner is asked to tell the end, one after it did; one more if the session took
    // over the 5 s the runner holds a wait (a loaded machine). A read every 200 ms made 8 or more.
    expect(reads.length).toBeGreaterThan(0)
    expect(reads.length).toBeLessThanOrEqual(3)
  })

  it("end an aborted session at once when roles' actors were activated anew (they answer that they left)", async () => {
    const { cause, millis } = await run(
      Effect.gen(function* () {
        const roles = {
          C: yield* Sharded.ref(Sleepers, "c-idle"),
          B: yield* Sharded.ref(IdleBanks, "b-idle"),
          A: yield* Sharded.ref(IdleAuditors, "a-idle")
        }
        const handle = yield* ShardedSession.start(Ledger, { roles, id: "idle-3", deadline: "10 seconds" })
        // the session began (the client's program runs), then the bank's and the auditor's actors were passivated
        // (the lease activates them again once a second: the abort finds them passivated, or holding the session)
        const participants = participantsOf(ActorSystem.internal(yield* ActorSystem.ActorSystem))
        while (![...participants.values()].some((p) => p.sessions.get("idle-3")?.begun === true))
          yield* Effect.sleep("10 millis")
        while ((yield* Sharded.active(IdleBanks)) + (yield* Sharded.active(IdleAuditors)) > 0)
          yield* Effect.sleep("10 millis")
        const since = Date.now()
        yield* handle.abort("the test ends it")
        const error = yield* Effect.flip(handle.await)
        return { cause: error._tag === "SessionAborted" ? error.cause : error, millis: Date.now() - since }
      })
    )
    expect(cause).toMatchObject({ _tag: "SessionCancelled", reason: "the test ends it" })
    // ended by every role's answer: the coordinator gives roles 5 s to leave before it ends without them
    expect(millis).toBeLessThan(5_000)
  })

  it("are refused, typed, by Session.run and DurableSession.run, which point to ShardedSession.run", async () => {
    const exits = await run(
      Effect.gen(function* () {
        const roles = yield* ledgerRoles("plain-3", Clients)
        return [
          yield* Effect.exit(Session.run(Ledger, { roles, id: "plain-3" })),
          yield* Effect.exit(DurableSession.run(Ledger, { roles, id: "durable-plain-3" }))
        ]
      })
    )
    for (const exit of exits as ReadonlyArray<Exit.Exit<unknown, unknown>>) {
      const error = Exit.isFailure(exit) ? Exit.findErrorOption(exit) : undefined
      expect(error?._tag === "Some" && error.value).toMatchObject({
        _tag: "RoleSharded",
        role: "C",
        path: "/cluster/LedgerClient/c-plain-3"
      })
      expect(error?._tag === "Some" && (error.value as Error).message).toMatch(/ShardedSession\.run/)
    }
  })
}

describe("sessions with sharded roles on one SQLite runner", () => {
  leftTests(run)

  it("complete: roles bound by (type, id), each once effect run once, nothing left behind", async () => {
    const ids = ["s-3", "s-5", "s-8"]
    const done = await run(
      Effect.gen(function* () {
        const done = yield* Effect.forEach(
          ids,
          (id) =>
            Effect.flatMap(ledgerRoles(id, Clients), (roles) =>
              ShardedSession.run(Ledger, { roles, id, deadline: "10 seconds", stepTimeout: "10 seconds" })
            ),
          { concurrency: "unbounded" }
        )
        // the coordinators stop once their sessions ended (just after the outcome is stored), and the roles' actors
        // hold no session any more
        while ((yield* ShardedSession.active(Ledger)) > 0) yield* Effect.sleep("10 millis")
        const participants = participantsOf(ActorSystem.internal(yield* ActorSystem.ActorSystem))
        expect(participants.size).toBe(9)
        expect([...participants.values()].filter((p) => p.sessions.size > 0)).toEqual([])
        return done
      })
    )
    expect(done.map((d) => d.results)).toEqual([
      { C: 6, B: 6, A: 3 },
      { C: 15, B: 15, A: 5 },
      { C: 36, B: 36, A: 8 }
    ])
    for (const id of ids) expect(ranOnce(id)).toEqual({ runs: 2 * roundsOf(id), distinct: 2 * roundsOf(id) })
    // the trace, merged from the roles' stored traces: 4 messages a round, then 2 to close
    expect(done[0]!.trace.filter((e) => e._tag === "Sent")).toHaveLength(4 * 3 + 2)
  })

  it("abort, typed, when a role's monitor refuses a move", async () => {
    expect(await abortCause("cheat", Cheats)).toMatchObject({ _tag: "ProtocolViolation", role: "C" })
  })

  it("abort, typed, when a role waits past its step deadline", async () => {
    // the client never moves: the bank waits for its deposit, the auditor for the bank's record, both from the
    // session's begin (each one's step counts anew as its peers join at the begin: either may be first)
    const cause = await abortCause("sleep", Sleepers, { stepTimeout: "300 millis" })
    expect(cause).toMatchObject({ _tag: "StepTimeout", state: 0 })
    expect(["B", "A"]).toContain((cause as { readonly role?: string } | undefined)?.role)
  })

  it("abort, typed, when a role's type is hosted by no runner", async () => {
    // (looked up again until the deadline: a runner just started may not have registered every type yet)
    expect(await abortCause("ghost", Ghosts, { deadline: "1 second" })).toMatchObject({
      _tag: "ParticipantStopped",
      role: "C",
      reason: "unreachable",
      path: "/cluster/LedgerGhost/c-ghost"
    })
  })

  it("abort, typed, when a role's type is hosted only by another cluster's runner in this process", async () => {
    // a second runner in the process, on a database of its own, hosts the type: this runner's coordinator must not
    // reach the role through it (it did: the process had one table of the sharded types, and the session completed,
    // its client played on the other cluster)
    let ready!: () => void
    const up = new Promise<void>((resolve) => (ready = resolve))
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const other = runSqlite([Strays])(
      Effect.andThen(
        Effect.sync(ready),
        Effect.promise(() => held)
      )
    )
    await up
    try {
      expect(await abortCause("stray", Strays, { deadline: "1 second" })).toMatchObject({
        _tag: "ParticipantStopped",
        role: "C",
        reason: "unreachable",
        path: "/cluster/LedgerStray/c-stray"
      })
    } finally {
      release()
      await other
    }
  })

  it("refuse, typed, a role bound to an actor that is not sharded", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const C = yield* ActorSystem.spawn(client(roundsOf), { name: "C" })
        const { B, A } = yield* ledgerRoles("local", Clients)
        return yield* Effect.exit(ShardedSession.run(Ledger, { roles: { C, B, A }, id: "local" }))
      })
    )
    const cause = Exit.isFailure(exit) ? Exit.findErrorOption(exit) : undefined
    expect(cause?._tag === "Some" && cause.value).toMatchObject({ _tag: "RoleNotSharded", role: "C", path: "/user/C" })
  })

  it("refuse, typed, options that are not what they should be, before anything is stored", async () => {
    const errors = await run(
      Effect.gen(function* () {
        const { C, B, A } = yield* ledgerRoles("bad-options", Clients)
        const roles = { C, B, A }
        // as from plain JavaScript or a config file
        const typo = { stepTimeout: "5 sec0" } as object
        const step = yield* Effect.flip(ShardedSession.run(Ledger, { roles, id: "bad-options", ...typo }))
        const deadline = yield* Effect.flip(ShardedSession.start(Ledger, { roles, id: "bad-options", deadline: -5 }))
        // nothing was stored: the same id starts and completes
        const done = yield* ShardedSession.run(Ledger, { roles, id: "bad-options" })
        return { step, deadline, results: Object.keys(done.results).sort() }
      })
    )
    expect(errors.step).toMatchObject({ _tag: "InvalidSessionOptions", option: "stepTimeout" })
    expect(errors.deadline).toMatchObject({ _tag: "InvalidSessionOptions", option: "deadline" })
    expect(errors.results).toEqual(["A", "B", "C"])
  })
})

describe.skipIf(!onPostgres)("sessions with sharded roles on a PostgreSQL runner", () => {
  const { url } = postgresAndRunners()
  leftTests(async (effect) =>
    runOn(hosted, Cluster.layerPostgres({ url: url(), host: "127.0.0.1", port: await Postgres.freePort() }))(effect)
  )
})
