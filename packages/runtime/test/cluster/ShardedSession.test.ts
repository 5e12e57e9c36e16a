/**
 * Sessions with sharded roles on one SQLite runner: the roles are sharded actors bound by (type, id), the
 * coordinator a sharded actor too; they complete, a monitor refuses an illegal move, a step deadline fires,
 * and roles passivated mid-session resume from the session's durable log without doing a move twice. With
 * `TROUPE_CLUSTER=1`, the starter's wait, the abort of roles activated anew and the refusal of sharded roles by
 * `Session.run` run on a PostgreSQL runner too (a real server started here).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  ActorSystem,
  Cluster,
  DurableSession,
  type Endpoint,
  Session,
  Sharded,
  ShardedSession,
  type Storage
} from "@troupe/runtime"
import { type Duration, Effect, Exit, Layer, Tracer } from "effect"
import type { Sharding } from "effect/cluster"
import { afterAll, describe, expect, it } from "vitest"
import { participantsOf } from "../../src/choreography/internal/participant.ts"
import * as Entity from "../../src/durable/Entity.ts"
import { auditor, bank, client, Ledger } from "../durable/ledger.ts"
import * as Postgres from "../durable/postgres.ts"
import { postgresAndRunners } from "./processes.ts"

/** The PostgreSQL runs (a real server started here) come with `TROUPE_CLUSTER=1`. */
const onPostgres = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined

const dir = mkdtempSync(join(tmpdir(), "troupe-sharded-session-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The `once` effects the banks and auditors ran: `session/role/n`, one entry per run. */
const effects: Array<string> = []
const record = (session: string, role: string, n: number) => Effect.sync(() => effects.push(`${session}/${role}/${n}`))
const ranOnce = (session: string) => {
  const mine = effects.filter((e) => e.startsWith(`${session}/`))
  return { runs: mine.length, distinct: new Set(mine).size }
}

/** How many rounds each session's client makes: its id's last number. */
const roundsOf = (session: string) => Number(/(\d+)$/.exec(session)?.[1] ?? 3)

const Clients = Sharded.make("LedgerClient", { behavior: () => client(roundsOf) })
const Banks = Sharded.make("LedgerBank", { behavior: () => bank(record) })
const Auditors = Sharded.make("LedgerAuditor", { behavior: () => auditor(record) })
// passivated after 200 ms without messages, faster than the lease holds them (every 500 ms with a 5 s deadline)
const IdleBanks = Sharded.make("LedgerIdleBank", { behavior: () => bank(record), passivateAfter: "200 millis" })
const IdleAuditors = Sharded.make("LedgerIdleAuditor", {
  behavior: () => auditor(record),
  passivateAfter: "200 millis"
})

/** Banks passivated after 100 ms idle, whose actors cannot start again once passivated. */
let fragileStarts = 0
const FragileBanks = Sharded.make("LedgerFragileBank", {
  behavior: () => {
    const behavior = bank(record)
    return {
      ...behavior,
      init: (ctx: Parameters<NonNullable<typeof behavior.init>>[0]) =>
        fragileStarts++ === 0 ? behavior.init!(ctx) : Effect.die(new Error("this bank cannot start again"))
    }
  },
  passivateAfter: "100 millis"
})

/**
 * A client that thinks before its third deposit until the bank's and the auditor's actors are passivated (their
 * sessions gone from memory): the session completes only if they resume from the log.
 */
const Thinkers = Sharded.make("LedgerThinker", {
  behavior: () =>
    Session.role(Ledger, "C", (typed, ctx) =>
      Effect.gen(function* () {
        let ep = typed as unknown as Endpoint.UntypedEndpoint<Session.Failure>
        let total = 0
        for (let i = 1; i <= 4; i++) {
          if (i === 3)
            yield* ctx.once(
              Effect.gen(function* () {
                while (
                  (yield* Sharded.active(IdleBanks)) +
                    (yield* Sharded.active(FragileBanks)) +
                    (yield* Sharded.active(IdleAuditors)) >
                  0
                )
                  yield* Effect.sleep("20 millis")
              })
            )
          const receipt = yield* (yield* ep.send("B", "deposit", i)).receive()
          total = receipt.payload as number
          ep = receipt.next
        }
        yield* ep.send("B", "close")
        return total
      })
    )
})

/** The runner's actor system, for a bank's `once` to passivate an auditor (see `SlowBanks`). */
let runnerSystem: ActorSystem.ActorSystemService | undefined

/**
 * Banks whose second deposit takes 2.5 s, during which the session's auditor is passivated (after 1 s): its lease
 * finds it gone, it resumes from the log, and its peers are asked to send it again what they sent it. The client
 * meanwhile waits for its receipt longer than its 2 s step deadline, though never 2 s since the recovery.
 */
const SlowBanks = Sharded.make("LedgerSlowBank", {
  behavior: () =>
    bank((session, role, n) =>
      n !== 2
        ? record(session, role, n)
        : Effect.gen(function* () {
            yield* Effect.sleep("1 second")
            yield* Entity.passivate(Auditors.kind, `a-${session}`).pipe(
              Effect.provideService(ActorSystem.ActorSystem, runnerSystem!)
            )
            yield* Effect.sleep("1500 millis")
            yield* record(session, role, n)
          })
    )
})

/** A client that breaks the protocol: it sends the auditor a deposit (C never talks to A). */
const Cheats = Sharded.make("LedgerCheat", {
  behavior: () =>
    Session.role(Ledger, "C", (typed) =>
      (typed as unknown as Endpoint.UntypedEndpoint<Session.Failure>).send("A", "deposit", 1)
    )
})

/** Clients of a type no runner hosts. */
const Ghosts = Sharded.make("LedgerGhost", { behavior: () => client(roundsOf) })

/** A client that never makes its first move. */
const Sleepers = Sharded.make("LedgerSleeper", {
  behavior: () => Session.role(Ledger, "C", () => Effect.never)
})

/** A runner hosting every type of these tests, on `cluster`. */
const runnerOn = <E>(cluster: Layer.Layer<Sharding.Sharding | Storage.Storage, E>) =>
  Layer.mergeAll(
    Sharded.layer(Clients),
    Sharded.layer(Banks),
    Sharded.layer(Auditors),
    Sharded.layer(IdleBanks),
    Sharded.layer(IdleAuditors),
    Sharded.layer(FragileBanks),
    Sharded.layer(SlowBanks),
    Sharded.layer(Thinkers),
    Sharded.layer(Cheats),
    Sharded.layer(Sleepers),
    ShardedSession.layer([Ledger])
  ).pipe(Layer.provideMerge(ActorSystem.layer()), Layer.provideMerge(cluster))

type Run = <A, E>(
  effect: Effect.Effect<A, E, Sharding.Sharding | Storage.Storage | ActorSystem.ActorSystem>
) => Promise<A>

/** Runs `effect` on a runner of its own, on `cluster`. */
const runOn =
  <E>(cluster: Layer.Layer<Sharding.Sharding | Storage.Storage, E>): Run =>
  (effect) =>
    Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(runnerOn(cluster))) as Effect.Effect<never>)

/** Runs `effect` on a SQLite runner of its own, on a fresh file. */
const run: Run = (effect) =>
  runOn(
    Cluster.layerSqlite({ filename: join(dir, `${crypto.randomUUID()}.db`), shardLockRefreshInterval: "1 second" })
  )(effect)

/** The roles of a ledger session: client, bank and auditor of the session's own ids. */
const ledgerRoles = <A>(id: string, clients: Sharded.Sharded<Session.Participant<typeof Ledger, "C", A>, never>) =>
  Effect.all({
    C: Sharded.ref(clients, `c-${id}`),
    B: Sharded.ref(Banks, `b-${id}`),
    A: Sharded.ref(Auditors, `a-${id}`)
  })

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
    for (const exit of exits) {
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

  it("resume roles passivated mid-session from the log: no move done twice", async () => {
    const done = await run(
      Effect.gen(function* () {
        const roles = {
          C: yield* Sharded.ref(Thinkers, "c-think"),
          B: yield* Sharded.ref(IdleBanks, "b-think"),
          A: yield* Sharded.ref(IdleAuditors, "a-think")
        }
        return yield* ShardedSession.run(Ledger, { roles, id: "think-4", deadline: "5 seconds" })
      })
    )
    expect(done.results).toEqual({ C: 10, B: 10, A: 4 })
    expect(ranOnce("think-4")).toEqual({ runs: 8, distinct: 8 })
  })

  it("count a waiting role's step anew when a peer resumes: a recovery longer than the step deadline completes", async () => {
    const done = await run(
      Effect.gen(function* () {
        runnerSystem = yield* ActorSystem.ActorSystem
        const roles = {
          C: yield* Sharded.ref(Clients, "c-slow-2"),
          B: yield* Sharded.ref(SlowBanks, "b-slow-2"),
          A: yield* Sharded.ref(Auditors, "a-slow-2")
        }
        // (a 2 s deadline: the lease asks every 200 ms)
        return yield* ShardedSession.run(Ledger, {
          roles,
          id: "slow-2",
          deadline: "2 seconds",
          stepTimeout: "2 seconds"
        })
      })
    )
    expect(done.results).toEqual({ C: 3, B: 3, A: 2 })
    expect(ranOnce("slow-2")).toEqual({ runs: 4, distinct: 4 })
  })

  it("abort, typed, when a role cannot be reached again within the deadline", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const roles = {
          C: yield* Sharded.ref(Thinkers, "c-fragile"),
          B: yield* Sharded.ref(FragileBanks, "b-fragile"),
          A: yield* Sharded.ref(Auditors, "a-fragile")
        }
        // (a 3 s deadline: the lease asks every 300 ms, so the bank is idle long enough to be passivated)
        return yield* Effect.flip(ShardedSession.run(Ledger, { roles, id: "fragile-4", deadline: "3 seconds" }))
      })
    )
    expect(exit._tag === "SessionAborted" && exit.cause).toMatchObject({ _tag: "SessionNodeLost", role: "B" })
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
})

describe.skipIf(!onPostgres)("sessions with sharded roles on a PostgreSQL runner", () => {
  const { url } = postgresAndRunners()
  leftTests(async (effect) =>
    runOn(Cluster.layerPostgres({ url: url(), host: "127.0.0.1", port: await Postgres.freePort() }))(effect)
  )
})
