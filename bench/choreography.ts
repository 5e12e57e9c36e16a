/**
 * Choreography benchmarks: what checking a session's messages costs at run time.
 *
 * `monitor_overhead` runs a session in which a producer role streams N items to a consumer role, twice
 * side by side: once with the producer sending through its endpoint (every send checked by its monitor,
 * numbered, traced), once with the producer telling the very same session messages itself, unchecked.
 * The consumer (which checks what it receives either way) and everything else are the same.
 */
import { ActorSystem, Behavior, type Protocol, Session } from "@troupe/runtime"
import { Effect } from "effect"
import { Counter, counter } from "./counter.ts"
import { consumer, producer, Stream } from "./stream.ts"
import { type Figure, median, onSystem, time } from "./support.ts"

const N = 50_000

type Join = Protocol.MessageOf<ReturnType<typeof Session.protocolOf<typeof Stream, "P">>["definition"], "Join">

/** A producer that tells the same session messages itself: no endpoint, no monitor. */
const unchecked = Behavior.make(Session.protocolOf(Stream, "P"), {
  initial: undefined as Join | undefined,
  receive: {
    Join: (_, join) => Effect.succeed({ state: join, reply: false }),
    Begin: (join, { session }, ctx) =>
      Effect.as(
        ctx.fork(
          Effect.gen(function* () {
            const consumer = join!.roles.C!
            for (let i = 0; i < N; i++)
              yield* consumer.tell({ _tag: "Deliver", session, seq: i + 1, from: "P", label: "item", payload: i })
            yield* consumer.tell({ _tag: "Deliver", session, seq: N + 1, from: "P", label: "done", payload: undefined })
            yield* join!.coordinator.tell({ _tag: "Done", session, role: "P", result: undefined, trace: [] } as never)
          })
        ),
        join
      ),
    Deliver: (s) => Effect.succeed(s),
    Abort: (s) => Effect.succeed(s),
    CoordinatorDown: (s) => Effect.succeed(s),
    Crash: (s) => Effect.succeed(s),
    Resume: (s) => Effect.succeed(s)
  }
})

/** A session of N items, checked at both ends. */
const checkedRun = Effect.gen(function* () {
  const P = yield* ActorSystem.spawn(producer(N))
  const C = yield* ActorSystem.spawn(consumer)
  yield* Session.run(Stream, { roles: { P, C } })
})

/** The same session, but the producer tells its messages unchecked (the consumer still checks them). */
const uncheckedRun = Effect.gen(function* () {
  const P = yield* ActorSystem.spawn(unchecked)
  const C = yield* ActorSystem.spawn(consumer)
  yield* Session.run(Stream, { roles: { P, C } })
})

/** The same number of messages told to a plain counter actor. */
const plainRun = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(counter)
  for (let i = 0; i < N; i++) yield* ref.tell(Counter.Add({ n: i }))
  yield* ref.ask(Counter.Get())
})

/** Wall and CPU time of one run, in seconds per message, after a full collection. */
const measure = async (effect: Effect.Effect<void, unknown, ActorSystem.ActorSystem>) => {
  ;(globalThis as { gc?: () => void }).gc?.()
  const cpu = process.cpuUsage()
  const wall = await time(() => onSystem(effect))
  const used = process.cpuUsage(cpu)
  return { wall: wall / N, cpu: (used.user + used.system) / 1e6 / N }
}

export const figures = async (rounds = 31): Promise<ReadonlyArray<Figure>> => {
  const checked: Array<{ wall: number; cpu: number }> = []
  const raw: Array<{ wall: number; cpu: number }> = []
  const plain: Array<{ wall: number; cpu: number }> = []
  // warm up every path once, then measure side by side, round by round, alternating which goes first
  await onSystem(checkedRun)
  await onSystem(uncheckedRun)
  await onSystem(plainRun)
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      checked.push(await measure(checkedRun))
      raw.push(await measure(uncheckedRun))
    } else {
      raw.push(await measure(uncheckedRun))
      checked.push(await measure(checkedRun))
    }
    plain.push(await measure(plainRun))
  }
  // CPU time: on a shared machine, other processes disturb it less than wall time
  const overhead = median(checked.map((c, i) => c.cpu / raw[i]!.cpu))
  const vsTell = median(checked.map((c, i) => c.cpu / plain[i]!.cpu))
  return [
    {
      name: "monitor_overhead",
      value: overhead,
      goal: { atMost: 1.05 },
      detail: "checked session send ÷ unchecked tell of the same messages"
    },
    {
      name: "session_msg_per_s",
      value: 1 / median(checked.map((c) => c.wall)),
      unit: "msg/s",
      detail: "one producer role, one consumer role, both checked"
    },
    { name: "session_msg_vs_tell", value: vsTell, detail: "checked session message ÷ tell to a plain actor" }
  ]
}

if (import.meta.main) for (const f of await figures()) console.log(f.name, f.value)

/** The two sessions `monitor_overhead` compares (for bench/probes/monitor-profile.ts). */
export const runs = { checked: checkedRun, unchecked: uncheckedRun }

/** The messages of one session run. */
export const messages = N
