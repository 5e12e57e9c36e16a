/**
 * Sessions with sharded roles under admission, on one runner letting 3 sessions join at once (SQLite; with
 * `TROUPE_CLUSTER=1` also PostgreSQL, a real server started here): a burst of 12
 * started at once joins 3 at a time on the coordinators' runner (probe: the sessions a bank joined that have not
 * begun; on main all 12 joined at once), and every one completes, each `once` effect run once, nothing left waiting.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Cluster, DurableSession, Sharded, ShardedSession, type Storage } from "@troupe/runtime"
import { Cause, type Duration, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import type { Sharding } from "effect/cluster"
import { afterAll, describe, expect, it } from "vitest"
import { Admission } from "../../src/choreography/internal/sessionAdmission.ts"
import { joinProbe } from "../durable/joinProbe.ts"
import { auditor, bank, client, Ledger } from "../durable/ledger.ts"
import * as Postgres from "../durable/postgres.ts"
import { postgresAndRunners } from "./processes.ts"
import { hosting } from "./sessionRoles.ts"

/** The PostgreSQL run (a real server started here) comes with `TROUPE_CLUSTER=1`. */
const onPostgres = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined

const dir = mkdtempSync(join(tmpdir(), "troupe-sharded-admission-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const effects: Array<string> = []
const record = (session: string, role: string, n: number) => Effect.sync(() => effects.push(`${session}/${role}/${n}`))

/** The sessions a bank joined (its first Join) that have not begun (the Join saying so), and the most at once. */
const probe = joinProbe()

const Clients = Sharded.make("AdmissionClient", { behavior: () => client(() => 1) })
const Banks = Sharded.make("AdmissionBank", { behavior: () => probe.wrap(bank(record)) })
const Auditors = Sharded.make("AdmissionAuditor", { behavior: () => auditor(record) })

const cap = 3

/** The runner: the three entities hosted on an actor system with `cap` places, on `cluster`. */
const runner = (cluster: Layer.Layer<Sharding.Sharding | Storage.Storage, unknown>) =>
  hosting([Clients, Banks, Auditors] as const).pipe(
    Layer.provideMerge(ActorSystem.layer({ maxJoiningSessions: cap, askTimeout: "30 seconds" })),
    Layer.provideMerge(cluster)
  )

/** The roles of session `id`: each its own entity. */
const rolesOf = (id: string) =>
  Effect.gen(function* () {
    return {
      C: yield* Sharded.ref(Clients, `c-${id}`),
      B: yield* Sharded.ref(Banks, `b-${id}`),
      A: yield* Sharded.ref(Auditors, `a-${id}`)
    }
  })

const burst = (name: string, cluster: () => Promise<Layer.Layer<Sharding.Sharding | Storage.Storage, unknown>>) =>
  it("a burst of 12 at once with 3 joining at a time: they join 3 at a time on the runner, every one completes once", async () => {
    const n = 12
    const prefix = `${name}-`
    probe.reset()
    const layer = await cluster()
    const result = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const admission = Admission.of(ActorSystem.internal(yield* ActorSystem.ActorSystem))
          let mostJoining = 0
          const sample = setInterval(() => {
            mostJoining = Math.max(mostJoining, admission.joining)
          }, 1)
          const exits = yield* Effect.forEach(
            Array.from({ length: n }, (_, i) => `${prefix}${i}`),
            (id) =>
              Effect.exit(
                Effect.flatMap(rolesOf(id), (roles) =>
                  ShardedSession.run(Ledger, { roles, id, deadline: "60 seconds" })
                )
              ),
            { concurrency: "unbounded" }
          )
          clearInterval(sample)
          return {
            failures: exits.filter(Exit.isFailure).map((e) => Cause.pretty(e.cause)),
            mostJoining,
            after: { joining: admission.joining, waiting: admission.waiting }
          }
        })
      ).pipe(Effect.provide(runner(layer)))
    )
    const mine = effects.filter((e) => e.startsWith(prefix))
    console.log(
      `${name}: ${n} sharded sessions, cap ${cap}: most joining ${result.mostJoining}, most joined-not-begun at a bank ${probe.most()}`
    )
    expect(result.failures).toEqual([])
    expect(result.after).toEqual({ joining: 0, waiting: 0 })
    // the coordinators took places on their runner (on main none: all 12 joined at once)
    expect(result.mostJoining).toBeGreaterThan(0)
    expect(result.mostJoining).toBeLessThanOrEqual(cap)
    expect(probe.most()).toBeLessThanOrEqual(cap)
    expect(mine.length).toBe(2 * n)
    expect(new Set(mine).size).toBe(2 * n)
  }, 180_000)

/**
 * `n` sessions started at once from a client (its own actor system, 2 places; no coordinator there), each run to its
 * end: what failed, the most joining at once on the client, and its admission once the last place went back.
 */
const fromClient = async (
  clientLayer: () => Promise<Layer.Layer<Sharding.Sharding | Storage.Storage, unknown>>,
  start: (
    id: string,
    deadline: Duration.Input
  ) => Effect.Effect<ShardedSession.Handle<unknown>, unknown, Sharding.Sharding | Storage.Storage>
) => {
  const client = ManagedRuntime.make(
    ActorSystem.layer({ maxJoiningSessions: 2 }).pipe(Layer.provideMerge(Layer.orDie(await clientLayer())))
  )
  const admission = Admission.of(ActorSystem.internal(await client.runPromise(ActorSystem.ActorSystem)))
  let most = 0
  const sample = setInterval(() => {
    most = Math.max(most, admission.joining)
  }, 1)
  const exits = await client.runPromise(
    Effect.forEach(
      Array.from({ length: 6 }, (_, i) => `client-x${i}`),
      (id) => Effect.exit(Effect.flatMap(start(id, "60 seconds"), (handle) => handle.await)),
      { concurrency: "unbounded" }
    )
  )
  clearInterval(sample)
  // (the last places go back at the watch's next read after their sessions began)
  for (let i = 0; i < 50 && admission.joining > 0; i++) await new Promise((r) => setTimeout(r, 100))
  const after = { joining: admission.joining, waiting: admission.waiting }
  await client.dispose()
  return { failures: exits.filter(Exit.isFailure).map((e) => Cause.pretty(e.cause)), most, after }
}

/**
 * The starter's place: `ShardedSession.start` takes one on its system before it stores the session. With every place
 * held (here by the test), a burst of starts waits in line its deadline and is refused, typed, with nothing stored
 * (on main: every start stored its session and returned at once, however many were joining); the places given back,
 * a burst with an ample deadline completes, at most `cap` joining at once.
 */
const starterBurst = (
  name: string,
  cluster: () => Promise<Layer.Layer<Sharding.Sharding | Storage.Storage, unknown>>,
  clientLayer?: () => Promise<Layer.Layer<Sharding.Sharding | Storage.Storage, unknown>>
) =>
  it("a burst of starts with every place held is refused typed (nothing stored); with places free all complete", async () => {
    const n = 8
    const prefix = `${name}-starter-`
    const layer = await cluster()
    const start = (id: string, deadline: Duration.Input) =>
      Effect.flatMap(rolesOf(id), (roles) => ShardedSession.start(Ledger, { roles, id, deadline }))
    const result = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const admission = Admission.of(ActorSystem.internal(yield* ActorSystem.ActorSystem))
          // every place held (as by sessions joining)
          for (let i = 0; i < cap; i++) yield* admission.admit("Held", `held-${i}`, Number.POSITIVE_INFINITY)
          const refused = yield* Effect.forEach(
            Array.from({ length: n }, (_, i) => `${prefix}r${i}`),
            (id) => Effect.exit(start(id, "1 second")),
            { concurrency: "unbounded" }
          )
          const stored = yield* Effect.forEach(
            Array.from({ length: n }, (_, i) => `${prefix}r${i}`),
            (id) => Effect.map(DurableSession.outcome(id), Option.isSome)
          )
          for (let i = 0; i < cap; i++) admission.release()
          let mostJoining = 0
          const sample = setInterval(() => {
            mostJoining = Math.max(mostJoining, admission.joining)
          }, 1)
          const completed = yield* Effect.forEach(
            Array.from({ length: n }, (_, i) => `${prefix}c${i}`),
            (id) => Effect.exit(Effect.flatMap(start(id, "60 seconds"), (handle) => handle.await)),
            { concurrency: "unbounded" }
          )
          clearInterval(sample)
          // a client with its own system starts sessions coordinated on the runner: its places are given back when
          // the storage says their sessions began (no coordinator here to take them over)
          const clientRun =
            clientLayer === undefined ? undefined : yield* Effect.promise(() => fromClient(clientLayer, start))
          return {
            client: clientRun,
            refused: refused.map((e) =>
              Exit.isFailure(e) ? Exit.findErrorOption(e).pipe(Option.map((error) => error._tag)) : Option.none()
            ),
            stored,
            failures: completed.filter(Exit.isFailure).map((e) => Cause.pretty(e.cause)),
            mostJoining,
            after: { joining: admission.joining, waiting: admission.waiting }
          }
        })
      ).pipe(Effect.provide(runner(layer)))
    )
    console.log(
      `${name}: ${n} sharded starts with every place held, then ${n} with places free: most joining ${result.mostJoining}`
    )
    // before: every start stored its session and answered a handle at once
    expect(result.refused).toEqual(Array.from({ length: n }, () => Option.some("SessionOverloaded")))
    expect(result.stored).toEqual(Array.from({ length: n }, () => false))
    expect(result.failures).toEqual([])
    expect(result.mostJoining).toBeGreaterThan(0)
    expect(result.mostJoining).toBeLessThanOrEqual(cap)
    expect(result.after).toEqual({ joining: 0, waiting: 0 })
    // from a client's system: at most its 2 places at once, each given back once its session began
    if (result.client !== undefined) {
      console.log(`${name}: 6 sharded starts from a client with 2 places: most joining ${result.client.most}`)
      expect(result.client.failures).toEqual([])
      expect(result.client.most).toBe(2)
      expect(result.client.after).toEqual({ joining: 0, waiting: 0 })
    }
  }, 180_000)

describe("sessions with sharded roles under admission (one SQLite runner)", () => {
  burst("sqlite", async () =>
    Cluster.layerSqlite({ filename: join(dir, "runner.db"), shardLockRefreshInterval: "1 second" })
  )
  starterBurst("sqlite", async () =>
    Cluster.layerSqlite({ filename: join(dir, "runner-starter.db"), shardLockRefreshInterval: "1 second" })
  )
})

describe.skipIf(!onPostgres)("sessions with sharded roles under admission (one PostgreSQL runner)", () => {
  const { url } = postgresAndRunners()
  burst("postgres", async () =>
    Cluster.layerPostgres({ url: url(), host: "127.0.0.1", port: await Postgres.freePort() })
  )
  starterBurst(
    "postgres",
    async () => Cluster.layerPostgres({ url: url(), host: "127.0.0.1", port: await Postgres.freePort() }),
    async () => Cluster.layerPostgres({ url: url(), clientOnly: true })
  )
})
