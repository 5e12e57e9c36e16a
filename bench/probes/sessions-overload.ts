/**
 * Where the time of 10 k session joins at once goes: per session, when its run started, when its coordinator started
 * (and asked the roles to join), when each participant handled its Join, and how it ended; printed per second.
 * Run: `pnpm exec node bench/probes/sessions-overload.ts` (N=10000 ROUNDS=2 ASK_TIMEOUT=5).
 */
import { loadavg } from "node:os"
import { ActorSystem, Session } from "@troupe/runtime"
import { Cause, Effect, Exit, Fiber } from "effect"
import { Coordination } from "../../packages/runtime/src/choreography/internal/coordination.ts"
import { Participant } from "../../packages/runtime/src/choreography/internal/participant.ts"
import { Ask, askClient as client, askServer as server } from "../../test/support/session-ask.ts"

const n = Number(process.env.N ?? 10_000)
const rounds = Number(process.env.ROUNDS ?? 2)

const marks = new Map<string, Record<string, number>>()
const mark = (id: string, what: string) => {
  let m = marks.get(id)
  if (m === undefined) marks.set(id, (m = {}))
  m[what] ??= performance.now()
}
const start = Coordination.prototype.start
Coordination.prototype.start = function (this: Coordination, ctx) {
  mark(this.id, "coord")
  return start.call(this, ctx)
}
const join = Participant.prototype.join
Participant.prototype.join = function (this: Participant, m, ctx) {
  mark(m.session, `join${this.spec.role}`)
  return join.call(this, m, ctx)
}
const begin = Participant.prototype.begin
Participant.prototype.begin = function (this: Participant, id) {
  mark(id, `begin${this.spec.role}`)
  return begin.call(this, id)
}

const report = (t0: number, ids: ReadonlyArray<string>, exits: ReadonlyArray<Exit.Exit<unknown, unknown>>) => {
  const kinds = ["run", "coord", "joinC", "joinS", "beginC", "ok", "failed"]
  const buckets: Array<Record<string, number>> = []
  const failures = new Map<string, number>()
  const waits: Array<number> = []
  ids.forEach((id, i) => {
    const m = marks.get(id)!
    const exit = exits[i]!
    m[Exit.isSuccess(exit) ? "ok" : "failed"] = m.end!
    if (Exit.isFailure(exit)) {
      const kind = Cause.pretty(exit.cause)
        .split("\n")[0]!
        .replace(/[0-9a-f-]{36}/g, "<id>")
        .slice(-90)
      failures.set(kind, (failures.get(kind) ?? 0) + 1)
    }
    if (m.joinC !== undefined) waits.push(m.joinC - m.coord!)
    for (const k of kinds) {
      if (m[k] === undefined) continue
      const b = Math.floor((m[k]! - t0) / 1000)
      buckets[b] ??= {}
      buckets[b]![k] = (buckets[b]![k] ?? 0) + 1
    }
  })
  waits.sort((a, b) => a - b)
  const q = (p: number) => waits[Math.floor(p * (waits.length - 1))]?.toFixed(0)
  console.log(`  ask→joinC ms: p10 ${q(0.1)} p50 ${q(0.5)} p90 ${q(0.9)} max ${q(1)}`)
  for (const [s, b] of buckets.entries()) console.log(`  ${s}s`, JSON.stringify(b ?? {}))
  console.log("  failures", Object.fromEntries(failures))
}

await Effect.runPromise(
  Effect.provide(
    Effect.gen(function* () {
      const C = yield* ActorSystem.spawn(client)
      const S = yield* ActorSystem.spawn(server)
      const one = (id: string) =>
        Effect.suspend(() => {
          mark(id, "run")
          return Effect.exit(Session.run(Ask, { roles: { C, S }, id }))
        }).pipe(Effect.tap(() => Effect.sync(() => mark(id, "end"))))
      yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => `warm-${i}`),
        one,
        { discard: true }
      )
      const rate = Number(process.env.RATE ?? 0)
      if (rate > 0) {
        // sessions arriving at `rate` per second for SECONDS, a batch every 100 ms (each batch at once)
        const seconds = Number(process.env.SECONDS ?? 10)
        marks.clear()
        const ids: Array<string> = []
        const fibers = []
        const t0 = performance.now()
        for (let b = 0; b < seconds * 10; b++) {
          const batch = Array.from({ length: rate / 10 }, (_, i) => `a${b}-${i}`)
          ids.push(...batch)
          fibers.push(yield* Effect.forkChild(Effect.forEach(batch, one, { concurrency: "unbounded" })))
          const next = t0 + (b + 1) * 100
          yield* Effect.sleep(Math.max(0, next - performance.now()))
        }
        const exits = (yield* Fiber.joinAll(fibers)).flat()
        const ok = exits.filter(Exit.isSuccess).length
        console.log(
          `offered ${rate}/s for ${seconds} s: ${(performance.now() - t0).toFixed(0)} ms, load ${loadavg()[0]!.toFixed(1)}, completed ${ok}, failed ${ids.length - ok}`
        )
        report(t0, ids, exits)
        return
      }
      for (let round = 0; round < rounds; round++) {
        marks.clear()
        const ids = Array.from({ length: n }, (_, i) => `r${round}-${i}`)
        const t0 = performance.now()
        const gaps: Array<string> = []
        let last = performance.now()
        const lag = setInterval(() => {
          const now = performance.now()
          if (now - last > 300) gaps.push(`${((last - t0) / 1000).toFixed(1)}s+${(now - last).toFixed(0)}ms`)
          last = now
        }, 50)
        const exits = yield* Effect.forEach(ids, one, { concurrency: "unbounded" })
        const ok = exits.filter(Exit.isSuccess).length
        const ms = performance.now() - t0
        console.log(
          `round ${round}: ${ms.toFixed(0)} ms, load ${loadavg()[0]!.toFixed(1)}, completed ${ok}, failed ${n - ok}`
        )
        clearInterval(lag)
        console.log("  event loop gaps", gaps.join(" "))
        report(t0, ids, exits)
      }
    }),
    ActorSystem.layer({ name: "probe", askTimeout: `${Number(process.env.ASK_TIMEOUT ?? 5)} seconds` })
  )
)
