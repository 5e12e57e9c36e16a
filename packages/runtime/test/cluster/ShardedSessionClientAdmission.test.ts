/**
 * Sessions with sharded roles started from a bare cluster client (the engine's client, `clientOnly`, and no
 * `ActorSystem`) on a real PostgreSQL server (started here; runs with `TROUPE_CLUSTER=1`), coordinated on a runner in
 * this process: the client's starts take places in a line of their own (256, an actor system's default), so with
 * every place held a burst of starts waits its deadline and is refused, typed, with nothing stored (before: every
 * start stored its session and woke its coordinator at once); with places free, a burst completes and every place
 * goes back.
 */
import { ActorSystem, Cluster, DurableSession, Sharded, ShardedSession } from "@troupe/runtime"
import { Cause, type Duration, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import { Sharding } from "effect/cluster"
import { describe, expect, it } from "vitest"
import { CLIENT_PLACES, clientAdmission } from "../../src/cluster/internal/clientAdmission.ts"
import { auditor, bank, client, Ledger } from "../durable/ledger.ts"
import * as Postgres from "../durable/postgres.ts"
import { postgresAndRunners } from "./processes.ts"
import { hosting } from "./sessionRoles.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined

const record = () => Effect.void
const Clients = Sharded.make("BareClient", { behavior: () => client(() => 1) })
const Banks = Sharded.make("BareBank", { behavior: () => bank(record) })
const Auditors = Sharded.make("BareAuditor", { behavior: () => auditor(record) })

describe.skipIf(!enabled)("sessions with sharded roles started from a bare cluster client (PostgreSQL)", () => {
  const { url } = postgresAndRunners()

  it("a burst with every place of the client's line held is refused typed, nothing stored; with places free all complete", async () => {
    const n = 8
    const runner = ManagedRuntime.make(
      hosting([Clients, Banks, Auditors] as const).pipe(
        Layer.provideMerge(ActorSystem.layer()),
        Layer.provideMerge(
          Layer.orDie(Cluster.layerPostgres({ url: url(), host: "127.0.0.1", port: await Postgres.freePort() }))
        )
      )
    )
    await runner.runPromise(Effect.void)
    // no ActorSystem: the client's starts have no system's admission to take a place in
    const bare = ManagedRuntime.make(Layer.orDie(Cluster.layerPostgres({ url: url(), clientOnly: true })))
    const start = (id: string, deadline: Duration.Input) =>
      Effect.gen(function* () {
        const roles = {
          C: yield* Sharded.ref(Clients, `c-${id}`),
          B: yield* Sharded.ref(Banks, `b-${id}`),
          A: yield* Sharded.ref(Auditors, `a-${id}`)
        }
        return yield* ShardedSession.start(Ledger, { roles, id, deadline })
      })
    const admission = await bare.runPromise(Effect.flatMap(Sharding.Sharding, clientAdmission))
    // every place held (as by sessions joining)
    await bare.runPromise(
      Effect.forEach(
        Array.from({ length: CLIENT_PLACES }, (_, i) => `held-${i}`),
        (id) => admission.admit("Held", id, Number.POSITIVE_INFINITY),
        { concurrency: "unbounded", discard: true }
      )
    )
    expect(admission.joining).toBe(CLIENT_PLACES)
    const refused = await bare.runPromise(
      Effect.forEach(
        Array.from({ length: n }, (_, i) => `bare-r${i}`),
        (id) => Effect.exit(start(id, "1 second")),
        { concurrency: "unbounded" }
      )
    )
    const stored = await bare.runPromise(
      Effect.forEach(
        Array.from({ length: n }, (_, i) => `bare-r${i}`),
        (id) => Effect.map(DurableSession.outcome(id), Option.isSome)
      )
    )
    for (let i = 0; i < CLIENT_PLACES; i++) admission.release()
    let most = 0
    const sample = setInterval(() => {
      most = Math.max(most, admission.joining)
    }, 1)
    const completed = await bare.runPromise(
      Effect.forEach(
        Array.from({ length: n }, (_, i) => `bare-c${i}`),
        (id) => Effect.exit(Effect.flatMap(start(id, "60 seconds"), (handle) => handle.await)),
        { concurrency: "unbounded" }
      )
    )
    clearInterval(sample)
    // (the last places go back at the begin watch's next read after their sessions began)
    for (let i = 0; i < 50 && admission.joining > 0; i++) await new Promise((r) => setTimeout(r, 100))
    const after = { joining: admission.joining, waiting: admission.waiting }
    await bare.dispose()
    await runner.dispose()
    const overloaded = refused.filter(Exit.isFailure).length
    console.log(
      `bare client: ${overloaded} of ${n} starts refused with every place held; then ${n}, most joining ${most}`
    )
    // before: every start stored its session and answered a handle at once, however many places were held
    expect(
      refused.map((e) =>
        Exit.isFailure(e) ? Exit.findErrorOption(e).pipe(Option.map((error) => error._tag)) : Option.none()
      )
    ).toEqual(Array.from({ length: n }, () => Option.some("SessionOverloaded")))
    expect(stored).toEqual(Array.from({ length: n }, () => false))
    expect(completed.filter(Exit.isFailure).map((e) => Cause.pretty(e.cause))).toEqual([])
    expect(most).toBeGreaterThan(0)
    expect(after).toEqual({ joining: 0, waiting: 0 })
  }, 180_000)
})
