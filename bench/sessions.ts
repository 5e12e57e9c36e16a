/**
 * Sessions at scale: what a live session costs in heap, and whether many concurrent sessions run at the
 * per-session rate of one.
 *
 * A session here is a request and its answer between two roles (`C` asks, `S` answers), played by two
 * long-lived participant actors that are in every session at once, as a service's agents are.
 */
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { Effect, Fiber, Schema } from "effect"
import { type Case, type Figure, gcMillis, heapUsed, median, medianRatio, onSystem, timed } from "./support.ts"

const Ask = Choreography.makeUnsafe("Ask", ["C", "S"], ($) => [
  $.message("C", "S", "ask", Schema.Number),
  $.message("S", "C", "answer", Schema.Number)
])

/** Held sessions wait here before their first move, until it opens; `arrived` counts the roles that came. */
class Gate {
  arrived = 0
  private opened: Promise<void> | undefined
  private release: () => void = () => {}
  close(): void {
    this.arrived = 0
    this.opened = new Promise((resolve) => {
      this.release = resolve
    })
  }
  open(): void {
    this.opened = undefined
    this.release()
  }
  /** Counts the role, then waits while the gate is closed. */
  get pass(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.arrived++
      const opened = this.opened
      return opened === undefined ? Effect.void : Effect.promise(() => opened)
    })
  }
}
const gate = new Gate()

const client = Session.role(Ask, "C", (ep) =>
  Effect.gen(function* () {
    yield* gate.pass
    const answer = yield* (yield* ep.send("S", "ask", 1)).receive()
    yield* answer.next.close()
    return answer.payload
  })
)

const server = Session.role(Ask, "S", (ep) =>
  Effect.gen(function* () {
    yield* gate.pass
    const ask = yield* ep.receive()
    yield* (yield* ask.next.send("C", "answer", ask.payload + 1)).close()
  })
)

const roles = Effect.gen(function* () {
  const C = yield* ActorSystem.spawn(client)
  const S = yield* ActorSystem.spawn(server)
  return { C, S }
})

type Roles = Effect.Success<typeof roles>

/**
 * `n` sessions, `concurrency` at a time. All at once is `"unbounded"`, not `n`: Effect 4.1's `forEach` with as many
 * items as its concurrency interrupts the others on a failure recursively, once per fiber that ends (10 k deep: the
 * stack overflows, or the run never settles, or fibers whose interruption takes a step pile up interrupts until out of
 * memory), so a session that fails (joins time out on a loaded machine) would hang the bench instead of failing it.
 */
const sessions = (bindings: Roles, n: number, concurrency: number) =>
  Effect.forEach(
    Array.from({ length: n }),
    () =>
      Effect.flatMap(Session.run(Ask, { roles: bindings }), (done) =>
        done.results.C === 2 ? Effect.void : Effect.die(new Error(`wrong answer ${done.results.C}`))
      ),
    { concurrency: concurrency >= n ? "unbounded" : concurrency, discard: true }
  )

const CONCURRENT = 10_000
const SEQUENTIAL = 2_000

const scaleCase: Case = {
  name: "sessions",
  run: () =>
    onSystem<ReadonlyArray<Figure>, unknown>(
      Effect.gen(function* () {
        const bindings = yield* roles
        yield* sessions(bindings, SEQUENTIAL, 1)
        yield* sessions(bindings, CONCURRENT, CONCURRENT)
        const one: Array<number> = []
        const many: Array<number> = []
        const gc = { one: [] as Array<number>, many: [] as Array<number> }
        const measure = (n: number, concurrency: number, rates: Array<number>, gcShares: Array<number>) =>
          Effect.gen(function* () {
            const gcBefore = gcMillis()
            const seconds = yield* timed(sessions(bindings, n, concurrency))
            yield* Effect.sleep(1) // the collector's entries arrive on a later turn
            rates.push(n / seconds)
            gcShares.push((gcMillis() - gcBefore) / 1000 / seconds)
          })
        for (let round = 0; round < 5; round++) {
          yield* measure(SEQUENTIAL, 1, one, gc.one)
          yield* measure(CONCURRENT, CONCURRENT, many, gc.many)
        }
        return [
          {
            name: "sessions_10k_vs_1",
            value: medianRatio(many, one),
            goal: { atLeast: 0.9 },
            detail: "sessions per second, 10 k at once ÷ one at a time"
          },
          { name: "sessions_per_s", value: median(one), unit: "sessions/s", detail: "one at a time (2 messages each)" },
          {
            name: "sessions_10k_gc_share",
            value: median(gc.many),
            detail: `of the time in garbage collection, 10 k at once (one at a time: ${median(gc.one).toFixed(2)})`
          }
        ]
      })
    )
}

const LIVE = 5_000

/** Heap bytes per live session: both roles' programs started, the client held before its first move. */
const liveBytes = Effect.gen(function* () {
  const bindings = yield* roles
  yield* sessions(bindings, 100, 100)
  gate.close()
  const before = heapUsed()
  const handles = yield* Effect.forEach(Array.from({ length: LIVE }), () => Session.start(Ask, { roles: bindings }))
  // wait until every role's program has begun: the server then waits for the ask, the client at the gate
  while (gate.arrived < 2 * LIVE) yield* Effect.sleep(1)
  yield* Effect.sleep(10)
  const bytes = (heapUsed() - before) / LIVE
  gate.open()
  yield* Effect.forEach(handles, (handle) => handle.await, { discard: true })
  return bytes
})

/**
 * The floor under session_live_bytes: the two roles' programs alone, as the same `Effect.gen` code waiting at the
 * same gate, forked as plain fibers (no session, no actor, no endpoint).
 */
const programBytes = Effect.gen(function* () {
  gate.close()
  const before = heapUsed()
  const wait = () =>
    Effect.gen(function* () {
      yield* gate.pass
      return 1
    })
  const fibers = []
  for (let i = 0; i < 2 * LIVE; i++) fibers.push(yield* Effect.forkChild(wait()))
  while (gate.arrived < 2 * LIVE) yield* Effect.sleep(1)
  yield* Effect.sleep(10)
  const bytes = (heapUsed() - before) / LIVE
  gate.open()
  yield* Fiber.joinAll(fibers)
  return bytes
})

const bytesCase: Case = {
  name: "session_bytes",
  run: async () => [
    {
      name: "session_live_bytes",
      value: await onSystem(Effect.scoped(liveBytes)),
      unit: "bytes",
      goal: { atMost: 4096 },
      detail: "a live session of two roles (participant actors shared)"
    },
    {
      name: "session_programs_bytes",
      value: await onSystem(programBytes),
      unit: "bytes",
      detail: "the same two role programs waiting as plain fibers, without a session (the floor)"
    }
  ]
}

export const cases: ReadonlyArray<Case> = [scaleCase, bytesCase]

/** The sessions of `sessions_10k_vs_1` (for bench/probes/sessions-profile.ts). */
export const probe = { roles, sessions }
