/**
 * Cluster benchmarks: a Troupe sharded actor against a raw Effect Cluster entity doing the same work on the
 * same runner (asks per second, side by side, round by round), the heap held per idle sharded actor, and
 * activations per second. Both run on one SQLite runner with volatile messages (the cost of the entity
 * machinery, not of the database).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Behavior, Cluster, Protocol, Sharded } from "@troupe/runtime"
import { Effect, Layer, Ref, Schema } from "effect"
import { Entity, type Sharding } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { twoRunnersVsOne } from "./cluster-runners.ts"
import { type Case, type Figure, heapUsed, median, time } from "./support.ts"

const Counter = Protocol.make("Counter", {
  Add: Protocol.request({ n: Schema.Number }, { success: Schema.Number })
})

const counter = Behavior.make(Counter, {
  initial: 0,
  receive: { Add: (count, { n }) => Effect.succeed({ state: count + n, reply: count + n }) }
})

const Counters = Sharded.make("TroupeCounter", { behavior: () => counter, passivateAfter: "10 minutes" })

/** The same counter as a raw Effect Cluster entity (an Rpc, a Ref). */
const RawCounter = Entity.make("RawCounter", [
  Rpc.make("Add", { payload: { n: Schema.Number }, success: Schema.Number })
])
const rawLayer = RawCounter.toLayer(
  Effect.gen(function* () {
    const count = yield* Ref.make(0)
    return RawCounter.of({ Add: ({ payload }) => Ref.updateAndGet(count, (c) => c + payload.n) })
  }),
  { maxIdleTime: "10 minutes", ...(process.env.RAW_UNBOUNDED === "1" ? { concurrency: "unbounded" as const } : {}) }
)

export type Run = <A>(effect: Effect.Effect<A, unknown, Sharding.Sharding>) => Promise<A>

/** A runner on a fresh SQLite file with both entity types, for the length of `f`. */
export const withRunner = async <A>(
  f: (run: Run) => Promise<A>,
  sharding: Parameters<typeof Cluster.layerSqlite>[0]["sharding"] = {}
): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-bench-cluster-"))
  const layer = Layer.mergeAll(Sharded.layer(Counters), rawLayer).pipe(
    Layer.provideMerge(ActorSystem.layer({ name: "bench" })),
    Layer.provideMerge(
      Cluster.layerSqlite({ filename: join(dir, "cluster.db"), maxActiveEntities: "unbounded", sharding })
    )
  )
  try {
    return await Effect.runPromise(
      Effect.gen(function* () {
        const context = yield* Layer.build(layer)
        const run: Run = (effect) => Effect.runPromise(Effect.provide(effect, context) as Effect.Effect<never>)
        return yield* Effect.promise(() => f(run))
      }).pipe(Effect.scoped) as Effect.Effect<A>
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const ENTITIES = 1_000
export const ASKS = 20_000
const CONCURRENCY = 64
const ids = Array.from({ length: ENTITIES }, (_, i) => `c-${i}`)

export const troupeAsks = Effect.gen(function* () {
  const refs = yield* Sharded.refs(Counters)
  const all = ids.map(refs)
  yield* Effect.forEach(
    Array.from({ length: ASKS }, (_, i) => i),
    (i) => all[i % ENTITIES]!.ask(Counter.Add({ n: 1 })),
    { concurrency: CONCURRENCY, discard: true }
  )
})

export const rawAsks = Effect.gen(function* () {
  const clientFor = yield* RawCounter.client
  const all = ids.map(clientFor)
  yield* Effect.forEach(
    Array.from({ length: ASKS }, (_, i) => i),
    (i) => all[i % ENTITIES]!.Add({ n: 1 }),
    { concurrency: CONCURRENCY, discard: true }
  )
})

const askVsEntity = (rounds = 5): Promise<ReadonlyArray<Figure>> =>
  withRunner(async (run) => {
    await run(troupeAsks)
    await run(rawAsks)
    const troupe: Array<number> = []
    const raw: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      troupe.push(ASKS / (await time(() => run(troupeAsks))))
      raw.push(ASKS / (await time(() => run(rawAsks))))
    }
    return [
      {
        name: "cluster_ask_vs_entity",
        value: median(troupe.map((t, i) => t / raw[i]!)),
        goal: { atLeast: 0.8 },
        detail: `Troupe sharded ask ÷ raw entity request, ${ENTITIES} entities, ${CONCURRENCY} in flight, one runner`
      },
      { name: "cluster_asks_per_s", value: median(troupe), unit: "asks/s", detail: "Troupe sharded asks" },
      { name: "cluster_entity_requests_per_s", value: median(raw), unit: "req/s", detail: "raw entity requests" }
    ]
  })

/** Raw entity requests with Effect Cluster's defaults (local calls serialised as if remote). */
const engineDefaults = (): Promise<ReadonlyArray<Figure>> =>
  withRunner(
    async (run) => {
      await run(rawAsks)
      const raw: Array<number> = []
      for (let round = 0; round < 3; round++) raw.push(ASKS / (await time(() => run(rawAsks))))
      return [
        {
          name: "cluster_entity_requests_per_s_defaults",
          value: median(raw),
          unit: "req/s",
          detail: "raw entity requests, Effect Cluster's default config (simulateRemoteSerialization)"
        }
      ]
    },
    { simulateRemoteSerialization: true }
  )

const IDLE = 20_000

/** Heap per idle active entity: activate IDLE entities with one request each, collect, divide. */
const idleBytes = (): Promise<ReadonlyArray<Figure>> =>
  withRunner(async (run) => {
    const activate = (prefix: string, asks: Effect.Effect<void, unknown, Sharding.Sharding>) =>
      run(
        Effect.gen(function* () {
          yield* asks
          return prefix
        })
      )
    const troupeOnce = (prefix: string) =>
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Counters)
        yield* Effect.forEach(
          Array.from({ length: IDLE }, (_, i) => i),
          (i) => refs(`${prefix}-${i}`).ask(Counter.Add({ n: 1 })),
          { concurrency: CONCURRENCY, discard: true }
        )
      })
    const rawOnce = (prefix: string) =>
      Effect.gen(function* () {
        const clientFor = yield* RawCounter.client
        yield* Effect.forEach(
          Array.from({ length: IDLE }, (_, i) => i),
          (i) => clientFor(`${prefix}-${i}`).Add({ n: 1 }),
          { concurrency: CONCURRENCY, discard: true }
        )
      })
    await activate("warm", troupeOnce("warm"))
    await activate("warm", rawOnce("warm"))
    let before = heapUsed()
    const start = performance.now()
    await activate("t", troupeOnce("t"))
    const activationsPerS = IDLE / ((performance.now() - start) / 1000)
    const troupe = (heapUsed() - before) / IDLE
    before = heapUsed()
    await activate("r", rawOnce("r"))
    const raw = (heapUsed() - before) / IDLE
    return [
      {
        name: "cluster_entity_bytes",
        value: troupe,
        unit: "bytes",
        goal: { atMost: 4096 },
        detail: `heap per idle active sharded actor (${IDLE} activated, one request each)`
      },
      { name: "cluster_raw_entity_bytes", value: raw, unit: "bytes", detail: "the same for a raw entity" },
      {
        name: "cluster_activations_per_s",
        value: activationsPerS,
        unit: "activations/s",
        detail: `first ask to ${IDLE} new ids, ${CONCURRENCY} in flight, one runner (volatile)`
      }
    ]
  })

/** The cluster cases of `pnpm bench` (suite `cluster`). */
export const cases: ReadonlyArray<Case> = [
  { name: "cluster_ask_vs_entity", run: () => askVsEntity() },
  { name: "cluster_entity_defaults", run: () => engineDefaults() },
  { name: "cluster_entity_bytes", run: () => idleBytes() },
  { name: "cluster_2_runners_vs_1", run: () => twoRunnersVsOne() }
]

if (import.meta.main && process.env.PROFILE !== undefined) {
  await withRunner(async (run) => {
    for (let i = 0; i < 6; i++) await run(process.env.PROFILE === "raw" ? rawAsks : troupeAsks)
    return []
  })
} else if (import.meta.main) {
  const only = process.argv.slice(2)
  for (const c of cases)
    if (only.length === 0 || only.some((w) => c.name.includes(w)))
      for (const figure of await c.run()) console.log(figure.name, Math.round(figure.value * 100) / 100)
}
