/**
 * Choreography benchmarks: the cost of checking a session's messages at run time.
 */
import { ActorSystem, Behavior, Choreography, Protocol, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import { type Figure, median } from "./support.ts"

/** A producer streams items to a consumer, then says it is done. */
const Stream = Choreography.makeUnsafe("Stream", ["P", "C"], ($) => [
  $.loop("Items", [
    $.choice("P", {
      item: [$.message("P", "C", "item", Schema.Number), $.continue("Items")],
      done: [$.message("P", "C", "done", Schema.Void)]
    })
  ])
])

const N = 200_000

const producer = Session.role(Stream, "P", (ep) =>
  Effect.gen(function* () {
    let e = ep
    for (let i = 0; i < N; i++) e = yield* e.send("C", "item", i)
    yield* (yield* e.send("C", "done")).close()
  })
)

const consumer = Session.role(Stream, "C", (ep) =>
  Effect.gen(function* () {
    let e = ep
    let sum = 0
    for (;;) {
      const m = yield* e.receive()
      if (m.label === "done") {
        yield* m.next.close()
        return sum
      }
      sum += m.payload
      e = m.next
    }
  })
)

type Join = Protocol.MessageOf<ReturnType<typeof Session.protocolOf<typeof Stream, "P">>["definition"], "Join">

/** A producer that tells the same session messages itself: no endpoint, no monitor. */
const unchecked = Behavior.make(Session.protocolOf(Stream, "P"), {
  initial: undefined as Join | undefined,
  receive: {
    Join: (_, join) => Effect.succeed({ state: join, reply: undefined }),
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

const Counter = Protocol.make("Counter", {
  Item: { n: Schema.Number },
  Get: Protocol.request({}, { success: Schema.Number })
})
const counter = Behavior.make(Counter, {
  initial: 0,
  receive: {
    Item: (sum, { n }) => Effect.succeed(sum + n),
    Get: (sum) => Effect.succeed({ state: sum, reply: sum })
  }
})

const checkedRunWith = (traceLimit: number) =>
  Effect.gen(function* () {
    const P = yield* ActorSystem.spawn(producer)
    const C = yield* ActorSystem.spawn(consumer)
    yield* Session.run(Stream, { roles: { P, C }, traceLimit })
  })
const checkedRun = checkedRunWith(1000)

const uncheckedRun = Effect.gen(function* () {
  const P = yield* ActorSystem.spawn(unchecked)
  const C = yield* ActorSystem.spawn(consumer)
  yield* Session.run(Stream, { roles: { P, C }, traceLimit: Number(process.env.TL ?? 1000) })
})

const plainRun = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(counter)
  for (let i = 0; i < N; i++) yield* ref.tell(Counter.Item({ n: i }))
  yield* ref.ask(Counter.Get())
})

/** CPU time of `f` in seconds: less disturbed than wall time by other processes on a shared machine. */
const cpuTime = async (f: () => Promise<unknown>): Promise<number> => {
  const start = process.cpuUsage()
  await f()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1e6
}

const run = <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem>) =>
  Effect.runPromise(Effect.provide(effect, ActorSystem.layer({ name: "bench" })))

export const figures = async (rounds = 9): Promise<ReadonlyArray<Figure>> => {
  const checked: Array<number> = []
  const raw: Array<number> = []
  const plain: Array<number> = []
  await run(checkedRun)
  await run(uncheckedRun)
  await run(plainRun)
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
  const measure = async (effect: Effect.Effect<void, unknown, ActorSystem.ActorSystem>) => {
    gc()
    return (await cpuTime(() => run(effect))) / N
  }
  for (let round = 0; round < rounds; round++) {
    // alternate the order, so that neither side always runs first
    if (round % 2 === 0) {
      checked.push(await measure(checkedRun))
      raw.push(await measure(uncheckedRun))
    } else {
      raw.push(await measure(uncheckedRun))
      checked.push(await measure(checkedRun))
    }
    plain.push(await measure(plainRun))
  }
  const ratios = checked.map((c, i) => c / raw[i]!)
  console.log(ratios.map((r) => r.toFixed(3)).join(" "))
  return [
    { name: "monitor_overhead", value: median(ratios), goal: { atMost: 1.1 } },
    { name: "session_send_vs_tell", value: median(checked) / median(plain) },
    { name: "session_send_ns", value: median(checked) * 1e9, unit: "ns" }
  ]
}

if (import.meta.main) for (const f of await figures()) console.log(f.name, f.value)
