/**
 * Durability benchmarks: a durable actor's tell throughput on SQLite against a plain actor's (side by side,
 * round by round), the heap held per passivated entity id, and how long a restarted node takes to have its
 * sessions running again.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, type Behavior, Durable, DurableSession, Entity, Session, Storage } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import { Counter, counter } from "./counter.ts"
import { consumer, producer, Stream } from "./stream.ts"
import { type Case, type Figure, median, time } from "./support.ts"

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

// ---------------------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------------------

const ITEMS = 50_000

const sessionLoop = (durable: boolean) =>
  Effect.gen(function* () {
    const P = yield* ActorSystem.spawn(producer(ITEMS))
    const C = yield* ActorSystem.spawn(consumer)
    if (durable) yield* DurableSession.run(Stream, { roles: { P, C } })
    else yield* Session.run(Stream, { roles: { P, C } })
    yield* ActorSystem.stop(P)
    yield* ActorSystem.stop(C)
  })

const durableSessions = (rounds = 5): Promise<ReadonlyArray<Figure>> =>
  withDirectory(async (dir) => {
    const run = onSqlite(join(dir, "sessions.db"))
    const plain: Array<number> = []
    const persisted: Array<number> = []
    await run(sessionLoop(false))
    await run(sessionLoop(true))
    for (let round = 0; round < rounds; round++) {
      plain.push(ITEMS / (await time(() => run(sessionLoop(false)))))
      persisted.push(ITEMS / (await time(() => run(sessionLoop(true)))))
    }
    return [
      {
        name: "durable_session_msg_per_s",
        value: median(persisted),
        unit: "msg/s",
        detail: "one producer role, one consumer role, the session's log on SQLite"
      },
      {
        name: "durable_session_vs_session",
        value: median(plain.map((p, i) => persisted[i]! / p)),
        goal: { atLeast: 0.3 },
        detail: "durable ÷ plain session, same roles and messages"
      }
    ]
  })

const RESUMED = 100

/**
 * 100 sessions in flight when their node stops (each producer paused after 20 items, in an effect that never
 * ends); a new system on the same storage spawns the participants, recovers the sessions, and each producer's
 * program replays its log up to the `once` again: the time from the start of `recover` to that point, per
 * session (`reached`), and the CPU time and wall time the new system took until every session ended.
 */
export const resumeRun = (
  /** Called as the recovery starts and once every session ended (a probe's profiler). */
  recovery: { readonly started: () => Promise<void>; readonly ended: () => Promise<void> } | undefined = undefined
): Promise<{
  readonly reached: ReadonlyArray<number>
  readonly cpuMillis: number
  readonly wallMillis: number
}> =>
  withDirectory(async (dir) => {
    const run = onSqlite(join(dir, "resume.db"))
    let paused = 0
    await run(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const P = yield* ActorSystem.spawn(
          producer(40, 20, Effect.sync(() => void paused++).pipe(Effect.andThen(Effect.never)))
        )
        const C = yield* ActorSystem.spawn(consumer)
        for (let s = 0; s < RESUMED; s++) yield* DurableSession.start(Stream, { roles: { P, C }, id: `r-${s}` })
        while (paused < RESUMED) yield* Effect.sleep("5 millis")
        yield* system.shutdown
      })
    )
    const reached: Array<number> = []
    let start = 0
    let cpu = process.cpuUsage()
    await run(
      Effect.gen(function* () {
        const P = producer(
          40,
          20,
          Effect.sync(() => void reached.push(performance.now() - start))
        )
        yield* ActorSystem.spawn(P)
        yield* ActorSystem.spawn(consumer)
        if (recovery !== undefined) yield* Effect.promise(recovery.started)
        start = performance.now()
        cpu = process.cpuUsage()
        const handles = yield* DurableSession.recover([Stream])
        yield* Effect.forEach(handles, (h) => h.await, { concurrency: "unbounded", discard: true })
        if (recovery !== undefined) yield* Effect.promise(recovery.ended)
      })
    )
    const used = process.cpuUsage(cpu)
    return { reached, cpuMillis: (used.user + used.system) / 1000, wallMillis: performance.now() - start }
  })

const resume = async (): Promise<ReadonlyArray<Figure>> => [
  {
    name: "resume_ms_p50",
    value: median((await resumeRun()).reached),
    unit: "ms",
    goal: { atMost: 100 },
    detail: `${RESUMED} sessions in flight, recovered on a new system: until each runs again (p50)`
  }
]

/** The durability cases of `pnpm bench` (suite `durable`). */
export const cases: ReadonlyArray<Case> = [
  { name: "durable_tell", run: () => durableTell() },
  { name: "passivated", run: () => passivation() },
  { name: "durable_session", run: () => durableSessions() },
  { name: "resume", run: () => resume() }
]

if (import.meta.main) {
  for (const c of cases) for (const figure of await c.run()) console.log(figure.name, figure.value)
}
