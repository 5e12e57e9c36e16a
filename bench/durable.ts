/**
 * Durability benchmarks: a durable actor's tell throughput on SQLite against a plain actor's (side by side,
 * round by round), the heap held per passivated entity id, and how long a restarted node takes to have its
 * sessions running again.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Behavior, Durable, Entity, Protocol, Storage } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import { type Case, type Figure, median, time } from "./support.ts"

const Counter = Protocol.make("Counter", {
  Add: { n: Schema.Number },
  Get: Protocol.request({}, { success: Schema.Number })
})

const counter = Behavior.make(Counter, {
  initial: 0,
  receive: {
    Add: (count, { n }) => Effect.succeed(count + n),
    Get: (count) => Effect.succeed({ state: count, reply: count })
  }
})

const N = 500_000
const message = Counter.Add({ n: 1 })

/** N tells to one actor, then one ask (for a durable actor: its reply comes after the last state's commit). */
const tellLoop = <S, R extends Storage.Storage>(behavior: Behavior.Behavior<typeof Counter, S, R>) =>
  Effect.gen(function* () {
    const ref = yield* ActorSystem.spawn(behavior)
    for (let i = 0; i < N; i++) yield* ref.tell(message)
    if ((yield* ref.ask(Counter.Get())) !== N) throw new Error("actor lost messages")
    yield* ActorSystem.stop(ref)
  })

const PASSIVATED = 50_000

/** Heap bytes per passivated entity: touch 50 k durable entities once each, let them passivate, collect, divide. */
const passivatedBytes = Effect.gen(function* () {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run the benchmark with --expose-gc")
  const heap = () => {
    gc()
    gc()
    return process.memoryUsage().heapUsed
  }
  const Counters = Entity.make("counter", Counter, {
    behavior: () => counter,
    state: Schema.Number,
    passivateAfter: "50 millis"
  })
  const idle = Effect.gen(function* () {
    while ((yield* Entity.active(Counters)) > 0) yield* Effect.sleep("10 millis")
  })
  const warm = yield* Entity.ref(Counters, "warm")
  yield* warm.ask(Counter.Get())
  yield* idle
  const before = heap()
  for (let i = 0; i < PASSIVATED; i++) yield* (yield* Entity.ref(Counters, `user-${i}`)).tell(message)
  yield* idle
  return (heap() - before) / PASSIVATED
})

/** A fresh SQLite file for one case, removed after it. */
const withDirectory = async <A>(f: (dir: string) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-bench-"))
  try {
    return await f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const onSqlite =
  (file: string) =>
  <A>(effect: Effect.Effect<A, unknown, ActorSystem.ActorSystem | Storage.Storage>) =>
    Effect.runPromise(
      effect.pipe(
        Effect.provide(ActorSystem.layer({ name: "bench" })),
        Effect.provide(Storage.layerSqlite({ filename: file }))
      )
    )

const durableTell = (rounds = 5): Promise<ReadonlyArray<Figure>> =>
  withDirectory(async (dir) => {
    const run = onSqlite(join(dir, "bench.db"))
    let ids = 0
    const durable = () => Durable.persistent(counter, { id: `counter-${++ids}`, state: Schema.Number })
    const plain: Array<number> = []
    const persisted: Array<number> = []
    await run(tellLoop(counter))
    await run(tellLoop(durable()))
    for (let round = 0; round < rounds; round++) {
      plain.push(N / (await time(() => run(tellLoop(counter)))))
      persisted.push(N / (await time(() => run(tellLoop(durable())))))
    }
    return [
      {
        name: "durable_tell_per_s",
        value: median(persisted),
        unit: "msg/s",
        detail: "one sender, one durable counter on SQLite"
      },
      {
        name: "durable_tell_vs_tell",
        value: median(plain.map((p, i) => persisted[i]! / p)),
        goal: { atLeast: 0.2 },
        detail: "durable ÷ plain actor, tells then one ask"
      }
    ]
  })

const passivation = (): Promise<ReadonlyArray<Figure>> =>
  withDirectory(async (dir) => [
    {
      name: "passivated_actor_bytes",
      value: await onSqlite(join(dir, "passivation.db"))(passivatedBytes),
      unit: "bytes",
      goal: { atMost: 200 },
      detail: "heap per durable entity touched once, then passivated"
    }
  ])

/** The durability cases of `pnpm bench` (suite `durable`). */
export const cases: ReadonlyArray<Case> = [
  { name: "durable_tell", run: () => durableTell() },
  { name: "passivated", run: () => passivation() }
]

if (import.meta.main) {
  for (const c of cases) for (const figure of await c.run()) console.log(figure.name, figure.value)
}
