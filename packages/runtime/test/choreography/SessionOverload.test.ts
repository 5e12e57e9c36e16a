/**
 * Sessions under overload: many more sessions started at once than their join deadline has time for.
 *
 * - Started at once (one caller forking them all, as `bench/sessions.ts` does): each session takes its place in line
 *   and the work of those admitted runs in turns, so at a deadline of 50 sessions' worth those the host cannot start
 *   in time are refused in line, typed, with no work done for them; those admitted complete or are aborted, typed
 *   (256 joining at once on two actors can miss so tight a deadline); with time for the whole burst all complete.
 * - Past the sessions an actor system lets join at once, the others wait in line, in order; one that waits longer
 *   than the join deadline fails, typed (`SessionOverloaded`) and without any work done for it, while those before it
 *   join in time (on the TestClock). How many may join at once is the system's `maxJoiningSessions`, checked when
 *   the system is made.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { protocolsOf } from "../../src/choreography/internal/sessionProtocols.ts"
import { ActorSystem, Behavior, Session } from "../../src/index.ts"
import { Ask, askClient, askServer, TwoBuyer } from "./fixtures.ts"

/** `n` sessions of Ask between two shared participants, all started at once: each one's exit. */
const burst = (n: number) =>
  Effect.gen(function* () {
    const C = yield* ActorSystem.spawn(askClient)
    const S = yield* ActorSystem.spawn(askServer)
    return yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) => Effect.exit(Session.run(Ask, { roles: { C, S }, id: `burst-${i}` })),
      { concurrency: "unbounded" }
    )
  })

/** What one session of Ask costs on this host now, in ms: 200 run one at a time. */
const costOfOne = Effect.gen(function* () {
  const C = yield* ActorSystem.spawn(askClient)
  const S = yield* ActorSystem.spawn(askServer)
  const since = performance.now()
  for (let i = 0; i < 200; i++) yield* Session.run(Ask, { roles: { C, S } })
  return (performance.now() - since) / 200
}).pipe(Effect.provide(ActorSystem.layer({ askTimeout: "60 seconds" })))

/** Lets other fibers run on the real clock (the test clock does not move by itself). */
const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))

const errorOf = (exit: Exit.Exit<unknown, unknown>) => (Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)

describe("Sessions under overload", () => {
  it.live(
    "sessions started at once, 80 join deadlines' worth of work: each ends typed (those the host cannot start in time refused before any work), and with time for all, all complete",
    () =>
      Effect.gen(function* () {
        // The premise holds on any host: the deadline is 50 sessions' worth of work on this host, measured now, and
        // 4,000 sessions are started at once (starting them alone takes longer than the deadline).
        const cost = yield* costOfOne
        const deadline = Math.max(5, Math.round(50 * cost))
        const n = 4000
        const run = (deadlineMillis: number) =>
          Effect.gen(function* () {
            const since = performance.now()
            const exits = yield* burst(n).pipe(
              Effect.provide(ActorSystem.layer({ askTimeout: `${deadlineMillis} millis` }))
            )
            const millis = performance.now() - since
            const completed = exits.filter(Exit.isSuccess).length
            const failures = exits.map(errorOf).filter((e) => e !== undefined)
            const kinds = new Set(failures.map((e) => (e as { _tag?: string })._tag))
            console.log(
              `one session ${cost.toFixed(2)} ms, deadline ${deadlineMillis} ms: ${n} at once in ${millis.toFixed(0)} ms ` +
                `(${(millis / deadlineMillis).toFixed(0)} deadlines), ${completed} completed, failures ${[...kinds].join(", ") || "none"}`
            )
            return { completed, failures }
          })
        // A session's first step only takes its place in line (see `sessionAdmission.ts`): the work of those admitted
        // runs in turns, with the loop turning between, so those still in line when the deadline passes are refused,
        // typed, before anything was done for them (on main the caller's call joined all 4,000, keeping the thread
        // for seconds).
        const tight = yield* run(deadline)
        // A session refused in line fails `SessionOverloaded` before anything was done for it; one admitted may still
        // miss a deadline on this host (`SessionAborted`: 256 join at once on the same two actors, and the deadline is
        // 50 sessions' work, so a Join or a step can come too late). Every session ends, typed; some complete.
        for (const error of tight.failures) {
          if (!(error instanceof Session.SessionAborted))
            assert.instanceOf(error, Session.SessionOverloaded, String(error))
        }
        assert.isAbove(tight.completed, 0, "none completed")
        // With a deadline that leaves time for the whole burst, every session completes, in turns.
        const ample = yield* run(Math.max(5_000, Math.round(n * cost)))
        assert.strictEqual(ample.completed, n, `${ample.completed} of ${n} completed`)
      }),
    300_000
  )

  it.effect(
    "sessions past those joining wait in line, in order; one that waits past the deadline fails typed, with no work done",
    () =>
      Effect.gen(function* () {
        // A answers each Join 3 s after it takes it, one at a time; two sessions may join at once (the system's
        // maxJoiningSessions); the deadline is 10 s
        const joinedA: Array<string> = []
        const A = yield* ActorSystem.spawn(
          Behavior.make(Session.protocolOf(TwoBuyer, "A"), {
            initial: null,
            receive: {
              Join: (state, m) =>
                Effect.as(
                  Effect.andThen(
                    Effect.sync(() => joinedA.push(m.session)),
                    Effect.sleep("3 seconds")
                  ),
                  { state, reply: false }
                ),
              Begin: (state) => Effect.succeed(state),
              Deliver: (state) => Effect.succeed(state),
              Abort: (state) => Effect.succeed(state),
              CoordinatorDown: (state) => Effect.succeed(state),
              Crash: (state) => Effect.succeed(state),
              Resume: (state) => Effect.succeed(state)
            }
          })
        )
        const idle = <R extends "B" | "S">(role: R) => Session.role(TwoBuyer, role, () => Effect.never)
        const B = yield* ActorSystem.spawn(idle("B"))
        const S = yield* ActorSystem.spawn(idle("S"))
        const system = yield* ActorSystem.ActorSystem
        const started = []
        for (let i = 0; i < 6; i++)
          started.push(
            yield* Effect.forkChild(Effect.exit(Session.start(TwoBuyer, { roles: { A, B, S }, id: `s${i}` })))
          )
        // s0 and s1 join at once; s2 goes in when s0's join is done (3 s), s3 at 6 s, s4 at 9 s: each within its
        // deadline. s5 would go in at 12 s: at 10 s it fails, having waited its deadline in line.
        for (let t = 0; t < 16; t++) {
          yield* settle
          yield* TestClock.adjust("1 second")
          if (t === 10) {
            const refused = yield* Fiber.join(started[5]!)
            const error = errorOf(refused)
            assert.instanceOf(error, Session.SessionOverloaded)
            assert.deepInclude(error, { session: "s5", protocol: "TwoBuyer", joining: 2, waitedMillis: 10_000 })
            assert.include((error as Session.SessionOverloaded).message, "overloaded")
            // nothing was done for it: no Join, no coordinator
            assert.notInclude(joinedA, "s5")
            const coordinator = yield* Effect.exit(system.lookup("/user/session-s5", protocolsOf(TwoBuyer).coordinator))
            assert.isTrue(Exit.isFailure(coordinator))
          }
        }
        yield* settle
        // everyone admitted joined, in the order they were started, each within its deadline: no session was aborted
        assert.deepStrictEqual(joinedA, ["s0", "s1", "s2", "s3", "s4"])
        for (const fiber of started.slice(0, 5)) {
          const exit = yield* Fiber.join(fiber)
          assert.isTrue(Exit.isSuccess(exit))
          if (Exit.isSuccess(exit)) {
            const awaiting = yield* Effect.forkChild(exit.value.await)
            yield* settle
            assert.isUndefined(awaiting.pollUnsafe(), `session ${exit.value.id} ended`)
          }
        }
      }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer({ askTimeout: "10 seconds", maxJoiningSessions: 2 })))
  )

  it.effect("a system's maxJoiningSessions must be a whole number of at least 1", () =>
    Effect.gen(function* () {
      for (const bad of [0, -1, 2.5, Number.NaN]) {
        const exit = yield* Effect.exit(Effect.scoped(ActorSystem.make({ maxJoiningSessions: bad })))
        const error = errorOf(exit)
        assert.instanceOf(error, ActorSystem.InvalidSystemOptions)
        assert.deepInclude(error, { option: "maxJoiningSessions" })
        assert.include((error as ActorSystem.InvalidSystemOptions).message, `${bad} is not a whole number`)
      }
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(Effect.scoped(ActorSystem.make({ maxJoiningSessions: 1 })))))
    })
  )
})
