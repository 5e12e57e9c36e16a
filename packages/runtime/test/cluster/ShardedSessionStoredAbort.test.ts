/**
 * A session's abort is stored before anyone acts on it (the stored truth: a session's end is stored while it runs,
 * first end wins; a role that left must find that end when it is joined again):
 *
 * - the coordinator stores its abort before it tells the roles (they leave the session on it). It used to tell them
 *   first: when the end's write then failed, or its runner stopped, the session stayed running in storage with every
 *   role gone from it, and the next incarnation resumed it. Now, while the database refuses the end, no role is told
 *   (the coordinator tries again every second), and once it is stored they are;
 * - a durable role whose result cannot be stored aborts the session: its abort is committed to its log before it
 *   reports it, as every durable role's abort is (a coordinator started again before it stored the end hears it again
 *   when it joins the role). It used to report it only.
 *
 * On a SQLite runner, and (with `TROUPE_CLUSTER=1`) on a PostgreSQL runner; a trigger makes the database refuse the
 * write.
 */
import { ActorSystem, Cluster, ShardedSession, Storage } from "@troupe/runtime"
import { Effect, Exit, Layer, Option } from "effect"
import type { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { participantsOf } from "../../src/choreography/internal/participant.ts"
import type { RoleSession } from "../../src/choreography/internal/roleSession.ts"
import { sessionStore } from "../../src/durable/internal/sessionStore.ts"
import { Ledger } from "../durable/ledger.ts"
import * as Postgres from "../durable/postgres.ts"
import { Auditors, Banks, Clients, gatedClients, ledgerRoles, type Run, runOn, runSqlite } from "./ledgerRunner.ts"
import { firstLog } from "./logs.ts"
import { postgresAndRunners } from "./processes.ts"

const onPostgres = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined

/** Clients that wait before their second deposit until the test releases them (one type per runner's tests). */
type Gated = ReturnType<typeof gatedClients>

const hostedWith = (gated: Gated) => [gated.type, Clients, Banks, Auditors] as const

/** A trigger that makes the database refuse updates of `table` matching `when` (SQL on `NEW`), or drops it. */
const refusal = (sql: SqlClient.SqlClient, table: string, when: string) => {
  const sqlite = sql.onDialectOrElse({ pg: () => false, orElse: () => true })
  const create = sqlite
    ? sql.unsafe(`CREATE TRIGGER refuse_${table} BEFORE UPDATE ON ${table} WHEN ${when}
        BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`)
    : Effect.andThen(
        sql.unsafe(`CREATE FUNCTION refuse_${table}() RETURNS trigger AS $$
          BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql`),
        sql.unsafe(`CREATE TRIGGER refuse_${table} BEFORE UPDATE ON ${table} FOR EACH ROW
          WHEN (${when}) EXECUTE FUNCTION refuse_${table}()`)
      )
  const drop = sql.unsafe(sqlite ? `DROP TRIGGER refuse_${table}` : `DROP TRIGGER refuse_${table} ON ${table}`)
  return { create, drop }
}

type Log = Effect.Success<ReturnType<ReturnType<typeof sessionStore>["role"]>>

/** The runner's storage: its SQL client and session store. */
const storageHere = Effect.gen(function* () {
  const { sql, writer, failed } = Storage.internal(yield* Storage.Storage)
  return { sql, store: sessionStore(sql, writer, failed) }
})

/** Waits for `condition` (checked every 20 ms) up to `millis`, then dies naming `what` it waited for. */
const waitFor = (what: string, millis: number, condition: () => boolean) =>
  Effect.gen(function* () {
    while (!condition()) yield* Effect.sleep("20 millis")
  }).pipe(
    Effect.timeoutOrElse({
      duration: millis,
      orElse: () => Effect.die(new Error(`waited ${millis} ms for ${what}`))
    })
  )

/** The tests, on a runner made by `runner` (given a logger that sees the runner's logs). */
const tests = (gated: Gated, runner: (around: Layer.Layer<never>) => Promise<Run>) => {
  it("store the coordinator's abort before the roles are told: while the end is refused, every role stays in the session", async () => {
    const id = "stored-abort-3"
    // the coordinator logs each refused write of its abort: the test waits for the first
    const refused = firstLog("Could not store a durable session's abort")
    let refusedSeen = false
    void refused.seen.then(() => (refusedSeen = true))
    const run = await runner(refused.layer)
    const result = await run(
      Effect.gen(function* () {
        const { sql, store } = yield* storageHere
        const roles = yield* ledgerRoles(id, gated.type)
        const handle = yield* ShardedSession.start(Ledger, { roles, id, deadline: "10 seconds" })
        const participants = participantsOf(ActorSystem.internal(yield* ActorSystem.ActorSystem))
        const held = () =>
          [...participants.values()].flatMap((p): Array<RoleSession> => {
            const session = p.sessions.get(id)
            return session?.begun === true && !session.ended ? [session] : []
          })
        yield* waitFor("every role to hold the begun session", 20_000, () => held().length === 3)
        // the first round done (its writes committed; a refused batch fails every write in it): the client waits
        const onces = Effect.map(Effect.all([store.role(id, "B"), store.role(id, "A")]), (logs) =>
          logs.map((log) => log.onces.length).join()
        )
        while ((yield* onces) !== "1,1") yield* Effect.sleep("20 millis")
        // the database refuses the session's end; the starter cancels the session
        const end = refusal(sql, "troupe_sessions", "NEW.status = 'aborted'")
        yield* end.create
        yield* handle.abort("the test cancels it")
        // (before: the roles were told at once and left, with the session running in storage)
        yield* waitFor("the coordinator's first refused write of its abort, or a role leaving", 20_000, () => {
          return refusedSeen || held().length < 3
        })
        const whileRefused = {
          holding: held().length,
          stored: Option.map(yield* store.session(id), (s) => s.status)
        }
        // the database takes the end again: it is stored (tried again every second), then the roles are told
        yield* end.drop
        gated.release()
        const exit = yield* Effect.exit(
          handle.await.pipe(
            Effect.timeoutOrElse({
              duration: "20 seconds",
              orElse: () => Effect.die(new Error("waited 20 s for the session's end"))
            })
          )
        )
        yield* waitFor("every role to leave the aborted session", 20_000, () => held().length === 0)
        return { whileRefused, exit, stored: Option.map(yield* store.session(id), (s) => s.status) }
      })
    )
    expect(result.whileRefused).toEqual({ holding: 3, stored: Option.some("running") })
    const error = Exit.isFailure(result.exit) ? Option.getOrUndefined(Exit.findErrorOption(result.exit)) : undefined
    expect(error).toMatchObject({ _tag: "SessionAborted", cause: { _tag: "SessionCancelled" } })
    expect(result.stored).toEqual(Option.some("aborted"))
  }, 60_000)

  it("store the abort of a role whose result cannot be stored in its log before it reports it", async () => {
    const id = "unstored-result-2"
    const run = await runner(Layer.empty)
    const result = await run(
      Effect.gen(function* () {
        const { sql, store } = yield* storageHere
        // the database refuses the auditor's result
        yield* refusal(sql, "troupe_session_roles", "NEW.role = 'A' AND NEW.done = 1").create
        const roles = yield* ledgerRoles(id, Clients)
        const exit = yield* Effect.exit(
          ShardedSession.run(Ledger, { roles, id, deadline: "10 seconds" }).pipe(
            Effect.timeoutOrElse({
              duration: "20 seconds",
              orElse: () => Effect.die(new Error("waited 20 s for the session's end"))
            })
          )
        )
        const logs: Record<string, Log> = {}
        for (const role of ["C", "B", "A"]) logs[role] = yield* store.role(id, role)
        return { exit, logs }
      })
    )
    const error = Exit.isFailure(result.exit) ? Option.getOrUndefined(Exit.findErrorOption(result.exit)) : undefined
    // (a result whose write was in the refused batch is refused with it: the abort may be the client's or the bank's)
    expect(error).toMatchObject({ _tag: "SessionAborted", cause: { _tag: "ParticipantFailed" } })
    const cause = (error as { readonly cause: { readonly role: string; readonly cause: string } }).cause
    expect(cause.cause).toContain("refused by the test")
    // before: undefined (the role reported its abort, and its log did not have it)
    expect(result.logs[cause.role]?.aborted).toMatchObject({ _tag: "ParticipantFailed", role: cause.role })
  }, 60_000)
}

describe("a session with sharded roles on a SQLite runner: aborts are stored before anyone acts on them", () => {
  const gated = gatedClients("LedgerStoredAbortClient")
  tests(gated, async (around) => runSqlite(hostedWith(gated), around))
})

describe.skipIf(!onPostgres)(
  "a session with sharded roles on a PostgreSQL runner: aborts are stored before anyone acts on them",
  () => {
    const { url } = postgresAndRunners()
    const gated = gatedClients("LedgerStoredAbortPgClient")
    tests(gated, async (around) =>
      runOn(
        hostedWith(gated),
        Cluster.layerPostgres({ url: url(), host: "127.0.0.1", port: await Postgres.freePort() }),
        around
      )
    )
  }
)
