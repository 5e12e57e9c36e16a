/**
 * Scale benchmarks: whether the cost of a message stays flat as the work grows in shape — many actors, many
 * callers of one actor — and what an actor costs once it has handled a message.
 *
 * Each figure is a ratio of two shapes measured side by side in one run (medians of interleaved rounds), or
 * heap bytes after a full collection.
 */
import { type ActorRef, ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Deferred, Effect, Fiber, Queue, Schema } from "effect"
import { type Case, type Figure, gcMillis, heapUsed, median, medianRatio, onSystem, timed } from "./support.ts"

const Counter = Protocol.make("Counter", {
  Add: { n: Schema.Number },
  Get: Protocol.request({}, { success: Schema.Number })
})

/** Counts every `Add` handled by any counter, and wakes whoever waits for the total. */
class Tally {
  count = 0
  target = 0
  private resolve: (() => void) | undefined
  /** Resolves once `n` more messages have been handled. */
  expect(n: number): Promise<void> {
    this.count = 0
    this.target = n
    return new Promise((resolve) => {
      this.resolve = resolve
    })
  }
  hit(): void {
    if (++this.count === this.target) this.resolve?.()
  }
}
const tally = new Tally()

const counter = Behavior.make(Counter, {
  initial: 0,
  receive: {
    Add: (count, { n }) => {
      tally.hit()
      return Effect.succeed(count + n)
    },
    Get: (count) => Effect.succeed({ state: count, reply: count })
  }
})

const add = Counter.Add({ n: 1 })

type System = ActorSystem.ActorSystemService

/** Spawns `n` counters. */
const spawnCounters = (system: System, n: number) =>
  Effect.gen(function* () {
    const refs = []
    for (let i = 0; i < n; i++) refs.push(yield* system.spawn(counter))
    return refs
  })

/** Waits until no actor has a drain fiber (every wake has finished). */
const settled = (system: System) =>
  Effect.gen(function* () {
    while ((yield* system.stats).running > 0) yield* Effect.sleep(1)
  })

// ---------------------------------------------------------------------------------------------------------
// Fan-out: one sender, round-robin over many actors
// ---------------------------------------------------------------------------------------------------------

const FANOUT_MESSAGES = 300_000
const FANOUT_ACTORS = 100_000

/** `FANOUT_MESSAGES` tells, round-robin over `refs`, then waits until every one was handled. */
const fanout = (refs: ReadonlyArray<ActorRef.ActorRef<typeof Counter>>) =>
  Effect.gen(function* () {
    const done = tally.expect(FANOUT_MESSAGES)
    const n = refs.length
    for (let i = 0; i < FANOUT_MESSAGES; i++) yield* refs[i % n]!.tell(add)
    yield* Effect.promise(() => done)
  })

const fanoutCase: Case = {
  name: "fanout",
  run: () =>
    onSystem<ReadonlyArray<Figure>, unknown>(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const one = yield* spawnCounters(system, 1)
        const many = yield* spawnCounters(system, FANOUT_ACTORS)
        yield* fanout(one)
        yield* fanout(many)
        const rates = { one: [] as Array<number>, many: [] as Array<number> }
        for (let round = 0; round < 9; round++) {
          for (const [shape, refs] of round % 2 === 0
            ? ([
                ["one", one],
                ["many", many]
              ] as const)
            : ([
                ["many", many],
                ["one", one]
              ] as const)) {
            yield* settled(system)
            const seconds = yield* timed(fanout(refs))
            rates[shape].push(FANOUT_MESSAGES / seconds)
          }
        }
        return [
          {
            name: "fanout_100k_vs_1",
            value: medianRatio(rates.many, rates.one),
            goal: { atLeast: 0.7 },
            detail: "tells round-robin over 100 k actors ÷ the same tells to one"
          },
          { name: "fanout_100k_per_s", value: median(rates.many), unit: "msg/s", detail: "one sender, 100 k actors" }
        ]
      })
    )
}

// ---------------------------------------------------------------------------------------------------------
// Many callers: concurrent askers of one actor, and the same shape on a raw Effect Queue + Deferred
// ---------------------------------------------------------------------------------------------------------

const ASKS = 200_000
const CALLERS = 4096

/** `callers` fibers ask one counter, `ASKS` asks in all. */
const callersAsk = (ref: ActorRef.ActorRef<typeof Counter>, callers: number) =>
  Effect.forEach(
    Array.from({ length: callers }),
    () =>
      Effect.gen(function* () {
        for (let i = 0; i < ASKS / callers; i++) yield* ref.ask(Counter.Get())
      }),
    { concurrency: "unbounded", discard: true }
  )

/**
 * The same shape without actors: `callers` fibers each offer a request (with a Deferred for its reply) to a
 * bounded queue of 1024, one server fiber takes and completes them.
 */
const callersQueue = (callers: number) =>
  Effect.gen(function* () {
    const queue = yield* Queue.bounded<Deferred.Deferred<number>>(1024)
    let count = 0
    const server = yield* Effect.forkChild(
      Effect.forever(Effect.flatMap(Queue.take(queue), (deferred) => Deferred.succeed(deferred, count++)))
    )
    yield* Effect.forEach(
      Array.from({ length: callers }),
      () =>
        Effect.gen(function* () {
          for (let i = 0; i < ASKS / callers; i++) {
            const deferred = Deferred.makeUnsafe<number>()
            yield* Queue.offer(queue, deferred)
            yield* Deferred.await(deferred)
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    yield* Fiber.interrupt(server)
  })

const Blocking = Protocol.make("Blocking", {
  Block: {},
  Get: Protocol.request({}, { success: Schema.Number })
})

/**
 * Heap bytes per caller suspended in an ask (to an actor busy with another message) next to bytes per fiber
 * suspended on a raw Deferred: what a waiting caller costs, and how much of it is the fiber's.
 */
const waiterBytes = Effect.gen(function* () {
  const gate = Deferred.makeUnsafe<void>()
  const ref = yield* ActorSystem.spawn(
    Behavior.make(Blocking, {
      initial: 0,
      receive: {
        Block: (count) => Effect.as(Deferred.await(gate), count),
        Get: (count) => Effect.succeed({ state: count, reply: count })
      }
    })
  )
  yield* ref.tell(Blocking.Block())
  const suspend = <A, E>(make: () => Effect.Effect<A, E>) =>
    Effect.gen(function* () {
      const before = heapUsed()
      const fibers = []
      for (let i = 0; i < CALLERS; i++) fibers.push(yield* Effect.forkChild(make()))
      yield* Effect.yieldNow
      return { bytes: (heapUsed() - before) / CALLERS, fibers }
    })
  const raw = yield* suspend(() => Deferred.await(Deferred.makeUnsafe<void>()))
  const asks = yield* suspend(() => ref.ask(Blocking.Get()))
  yield* Deferred.succeed(gate, undefined)
  yield* Effect.forEach(asks.fibers, Fiber.join, { discard: true })
  yield* Effect.forEach(raw.fibers, Fiber.interrupt, { discard: true })
  return { ask: asks.bytes, raw: raw.bytes }
})

const callersCase: Case = {
  name: "callers",
  run: () =>
    onSystem<ReadonlyArray<Figure>, unknown>(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const [ref] = yield* spawnCounters(system, 1)
        const shapes = {
          ask1: callersAsk(ref!, 1),
          ask256: callersAsk(ref!, 256),
          askMany: callersAsk(ref!, CALLERS),
          queue1: callersQueue(1),
          queueMany: callersQueue(CALLERS)
        }
        const empty = (): Record<keyof typeof shapes, Array<number>> => ({
          ask1: [],
          ask256: [],
          askMany: [],
          queue1: [],
          queueMany: []
        })
        const rates = empty()
        const gcShares = empty()
        for (const shape of Object.values(shapes)) yield* shape
        for (let round = 0; round < 5; round++) {
          const order = Object.keys(shapes) as Array<keyof typeof shapes>
          for (const shape of round % 2 === 0 ? order : order.toReversed()) {
            const gcBefore = gcMillis()
            const seconds = yield* timed(shapes[shape])
            yield* Effect.sleep(1) // the collector's entries arrive on a later turn
            rates[shape].push(ASKS / seconds)
            gcShares[shape].push((gcMillis() - gcBefore) / 1000 / seconds)
          }
        }
        const waiting = yield* waiterBytes
        const ask = medianRatio(rates.askMany, rates.ask1)
        const queue = medianRatio(rates.queueMany, rates.queue1)
        return [
          {
            name: "ask_4096_callers_vs_1",
            value: ask,
            goal: { atLeast: 0.7 },
            otherwise: { goal: "≥ 0.9 × queue_4096_callers_vs_1", met: ask >= 0.9 * queue },
            detail: "4096 concurrent callers of one actor ÷ one caller"
          },
          {
            name: "ask_256_callers_vs_1",
            value: medianRatio(rates.ask256, rates.ask1),
            detail: "256 concurrent callers of one actor ÷ one caller"
          },
          {
            name: "queue_4096_callers_vs_1",
            value: queue,
            detail: "the same shape on a raw Effect Queue + Deferred"
          },
          { name: "ask_4096_callers_vs_queue", value: ask / queue, detail: "the two ratios above, divided" },
          {
            name: "ask_4096_callers_gc_share",
            value: median(gcShares.askMany),
            detail: `of the time in garbage collection (one caller: ${median(gcShares.ask1).toFixed(2)})`
          },
          {
            name: "queue_4096_callers_gc_share",
            value: median(gcShares.queueMany),
            detail: `the same on the raw Queue + Deferred (one caller: ${median(gcShares.queue1).toFixed(2)})`
          },
          {
            name: "waiting_caller_bytes",
            value: waiting.ask,
            unit: "bytes",
            detail: "a fiber suspended in an ask"
          },
          {
            name: "waiting_fiber_bytes",
            value: waiting.raw,
            unit: "bytes",
            detail: "a fiber suspended on a raw Deferred"
          }
        ]
      })
    )
}

// ---------------------------------------------------------------------------------------------------------
// Bytes per actor, before and after its first message
// ---------------------------------------------------------------------------------------------------------

const ACTORS = 100_000

/** Heap bytes per counter actor, never messaged (`touched: false`) or after handling one message each. */
const actorBytes = (touched: boolean) =>
  Effect.gen(function* () {
    const system = yield* ActorSystem.ActorSystem
    const before = heapUsed()
    const refs = yield* spawnCounters(system, ACTORS)
    if (touched) {
      const done = tally.expect(ACTORS)
      for (const ref of refs) yield* ref.tell(add)
      yield* Effect.promise(() => done)
      yield* settled(system)
    }
    const after = heapUsed()
    const stats = yield* system.stats
    if (stats.actors !== ACTORS || stats.running !== 0)
      throw new Error(`expected ${ACTORS} idle actors, got ${JSON.stringify(stats)}`)
    yield* Effect.forEach(refs, (ref) => system.stop(ref), { discard: true })
    return (after - before) / ACTORS
  })

const idleCase: Case = {
  name: "idle",
  run: async () => [
    {
      name: "idle_actor_bytes",
      value: await onSystem(actorBytes(false)),
      unit: "bytes",
      goal: { atMost: 1024 }
    }
  ]
}

const touchedCase: Case = {
  name: "touched",
  run: async () => [
    {
      name: "touched_actor_bytes",
      value: await onSystem(actorBytes(true)),
      unit: "bytes",
      goal: { atMost: 600 },
      detail: "an idle actor that has handled one message"
    }
  ]
}

export const cases: ReadonlyArray<Case> = [fanoutCase, callersCase, idleCase, touchedCase]
