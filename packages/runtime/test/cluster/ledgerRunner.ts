/**
 * Ledger sessions with sharded roles on a runner in the test process (see `ShardedSession.test.ts`): the ledger's
 * roles as sharded types, whose banks' and auditors' `once` effects are recorded here, and a runner of their own
 * for each run, on a fresh SQLite file or on the cluster a test gives.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Cluster, type Protocol, type Session, Sharded, type Storage } from "@troupe/runtime"
import { Effect, Layer } from "effect"
import type { Sharding } from "effect/cluster"
import { auditor, bank, client, type Ledger } from "../durable/ledger.ts"
import { type Hosted, hosting } from "./sessionRoles.ts"

/** The `once` effects the banks and auditors ran: `session/role/n`, one entry per run. */
const effects: Array<string> = []

/**
 * A `once` effect of a bank or an auditor: records that it ran.
 *
 * @example
 * const Banks = Sharded.make("LedgerBank", { behavior: () => bank(record) })
 */
export const record = (session: string, role: string, n: number) =>
  Effect.sync(() => effects.push(`${session}/${role}/${n}`))

/**
 * How many `once` effects of `session` ran, and how many distinct ones (equal: none ran twice).
 *
 * @example
 * expect(ranOnce("think-4")).toEqual({ runs: 8, distinct: 8 })
 */
export const ranOnce = (session: string) => {
  const mine = effects.filter((e) => e.startsWith(`${session}/`))
  return { runs: mine.length, distinct: new Set(mine).size }
}

/** How many rounds each session's client makes: its id's last number. */
export const roundsOf = (session: string) => Number(/(\d+)$/.exec(session)?.[1] ?? 3)

export const Clients = Sharded.make("LedgerClient", { behavior: () => client(roundsOf) })

/**
 * Clients (the sharded type `name`, three rounds each) that wait before their second deposit until `release()`: the
 * test holds a session in its first round while it does something to the roles.
 *
 * @example
 * const gated = gatedClients("LedgerOrderClient")
 * // ... start a session with C on `gated.type`, act on the roles, then:
 * gated.release()
 */
export const gatedClients = (name: string) => {
  let released = false
  const type = Sharded.make(name, {
    behavior: () =>
      client(() => 3, {
        deposit: 2,
        wait: () =>
          Effect.gen(function* () {
            while (!released) yield* Effect.sleep("20 millis")
          })
      })
  })
  return { type, release: () => void (released = true) }
}
export const Banks = Sharded.make("LedgerBank", { behavior: () => bank(record) })
export const Auditors = Sharded.make("LedgerAuditor", { behavior: () => auditor(record) })
// passivated after 200 ms without messages, faster than the lease holds them (every 500 ms with a 5 s deadline)
export const IdleBanks = Sharded.make("LedgerIdleBank", { behavior: () => bank(record), passivateAfter: "200 millis" })
export const IdleAuditors = Sharded.make("LedgerIdleAuditor", {
  behavior: () => auditor(record),
  passivateAfter: "200 millis"
})

export type Run = <A, E>(
  effect: Effect.Effect<A, E, Sharding.Sharding | Storage.Storage | ActorSystem.ActorSystem>
) => Promise<A>

/**
 * Runs an effect on a runner of its own hosting `types`, on `cluster`; `around` is provided around the runner (a
 * logger that sees the runner's logs).
 *
 * @example
 * const run = runOn([Clients, Banks, Auditors], Cluster.layerPostgres({ url, host: "127.0.0.1", port }))
 */
export const runOn =
  <const Ps extends ReadonlyArray<Protocol.Any>, E>(
    types: Hosted<Ps>,
    cluster: Layer.Layer<Sharding.Sharding | Storage.Storage, E>,
    around: Layer.Layer<never> = Layer.empty
  ): Run =>
  (effect) =>
    Effect.runPromise(
      Effect.scoped(effect).pipe(
        Effect.provide(hosting(types).pipe(Layer.provideMerge(ActorSystem.layer()), Layer.provideMerge(cluster))),
        Effect.provide(around)
      ) as Effect.Effect<never>
    )

/**
 * Runs an effect on a SQLite runner of its own hosting `types`, on a fresh file in a directory of its own, removed
 * once the runner stopped. (Not one directory per module removed in an `afterAll`: the test files share workers
 * and this module, and the first file's `afterAll` removed the directory of every file after it.)
 *
 * @example
 * const done = await runSqlite([Clients, Banks, Auditors])(ShardedSession.run(Ledger, { roles, id }))
 */
export const runSqlite =
  <const Ps extends ReadonlyArray<Protocol.Any>>(types: Hosted<Ps>, around?: Layer.Layer<never>): Run =>
  (effect) => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-sharded-session-"))
    return runOn(
      types,
      Cluster.layerSqlite({ filename: join(dir, "runner.db"), shardLockRefreshInterval: "1 second" }),
      around
    )(effect).finally(() => rmSync(dir, { recursive: true, force: true }))
  }

/**
 * The roles of a ledger session: client, bank and auditor of the session's own ids.
 *
 * @example
 * const roles = yield* ledgerRoles("s-3", Clients) // { C: c-s-3, B: b-s-3, A: a-s-3 }
 */
export const ledgerRoles = <A>(
  id: string,
  clients: Sharded.Sharded<Session.Participant<typeof Ledger, "C", A>, never>
) =>
  Effect.all({
    C: Sharded.ref(clients, `c-${id}`),
    B: Sharded.ref(Banks, `b-${id}`),
    A: Sharded.ref(Auditors, `a-${id}`)
  })
