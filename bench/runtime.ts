/**
 * Runtime benchmarks (the actor core): local tell throughput against a raw Effect Queue and an xstate actor,
 * and local ask round trips per second (bytes per actor are in scale.ts).
 */
import { ActorSystem } from "@troupe/runtime"
import { Effect, Fiber, Queue } from "effect"
import { assign, createActor, setup } from "xstate"
import { Counter, counter } from "./counter.ts"
import { type Case, median, onSystem, time } from "./support.ts"

const N = 500_000
const message = Counter.Add({ n: 1 })

/** A raw Effect Queue of the same capacity: one fiber offers, one takes and folds. */
const queueLoop = Effect.gen(function* () {
  const queue = yield* Queue.bounded<typeof message>(1024)
  const consumer = yield* Effect.forkChild(
    Effect.gen(function* () {
      let count = 0
      for (let i = 0; i < N; i++) count += (yield* Queue.take(queue)).n
      return count
    })
  )
  for (let i = 0; i < N; i++) yield* Queue.offer(queue, message)
  if ((yield* Fiber.join(consumer)) !== N) throw new Error("queue lost messages")
})

/** The same messages told to one actor (default mailbox: 1024, suspend), then one ask to wait for the end. */
const tellLoop = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(counter)
  for (let i = 0; i < N; i++) yield* ref.tell(message)
  if ((yield* ref.ask(Counter.Get())) !== N) throw new Error("actor lost messages")
  yield* ActorSystem.stop(ref)
})

const machine = setup({
  types: { context: {} as { count: number }, events: {} as { type: "Add"; n: number } }
}).createMachine({
  context: { count: 0 },
  on: { Add: { actions: assign({ count: ({ context, event }) => context.count + event.n }) } }
})

/** The same events sent to an xstate v5 machine actor. */
const xstateLoop = () => {
  const actor = createActor(machine).start()
  const event = { type: "Add" as const, n: 1 }
  for (let i = 0; i < N; i++) actor.send(event)
  if (actor.getSnapshot().context.count !== N) throw new Error("xstate lost events")
  actor.stop()
}

const ASKS = 200_000

const sequentialAsks = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(counter)
  for (let i = 0; i < ASKS; i++) yield* ref.ask(Counter.Get())
  yield* ActorSystem.stop(ref)
})

const concurrentAsks = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(counter)
  yield* Effect.forEach(
    Array.from({ length: 16 }),
    () =>
      Effect.gen(function* () {
        for (let i = 0; i < ASKS / 16; i++) yield* ref.ask(Counter.Get())
      }),
    { concurrency: "unbounded", discard: true }
  )
  yield* ActorSystem.stop(ref)
})

/** Tells: an actor against a raw Effect Queue and an xstate actor, round by round. */
const tellCase: Case = {
  name: "tell",
  run: async () => {
    const queue: Array<number> = []
    const tell: Array<number> = []
    const xstate: Array<number> = []
    // warm up every path once, then measure side by side, round by round
    await Effect.runPromise(queueLoop)
    await onSystem(tellLoop)
    xstateLoop()
    for (let round = 0; round < 5; round++) {
      queue.push(N / (await time(() => Effect.runPromise(queueLoop))))
      tell.push(N / (await time(() => onSystem(tellLoop))))
      xstate.push(N / (await time(async () => xstateLoop())))
    }
    const tellRate = median(tell)
    return [
      { name: "local_tell_per_s", value: tellRate, unit: "msg/s", detail: "one sender, one counter actor" },
      { name: "local_tell_vs_queue", value: tellRate / median(queue), goal: { atLeast: 0.5 } },
      { name: "local_tell_vs_xstate", value: tellRate / median(xstate), goal: { atLeast: 2 } }
    ]
  }
}

/** Asks: one caller after another, and 16 concurrent callers. */
const askCase: Case = {
  name: "ask",
  run: async () => {
    const seq: Array<number> = []
    const conc: Array<number> = []
    await onSystem(sequentialAsks)
    for (let round = 0; round < 5; round++) {
      seq.push(ASKS / (await time(() => onSystem(sequentialAsks))))
      conc.push(ASKS / (await time(() => onSystem(concurrentAsks))))
    }
    return [
      {
        name: "local_ask_per_s",
        value: median(seq),
        unit: "asks/s",
        goal: { atLeast: 500_000 },
        detail: "one caller, one ask after another"
      },
      { name: "local_ask_concurrent_per_s", value: median(conc), unit: "asks/s", detail: "16 callers" }
    ]
  }
}

export const cases: ReadonlyArray<Case> = [tellCase, askCase]
