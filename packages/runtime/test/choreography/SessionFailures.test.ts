/**
 * Sessions when things go wrong: step deadlines (on the TestClock), participants that fail or stop,
 * restartable roles that resume from their checkpoint, cancelled sessions.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import { protocolsOf } from "../../src/choreography/internal/sessionProtocols.ts"
import { ActorSystem, Choreography, Diagram, type Endpoint, Session, type SystemEvent } from "../../src/index.ts"
import { eventually } from "../fixtures.ts"
import { TwoBuyer } from "./fixtures.ts"

const withSystem = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, ActorSystem.layer())

/** Lets other fibers run on the real clock (the test clock does not move by itself). */
const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))

/**
 * A role that starts (completing `started`), does its first move if it is A, then waits forever;
 * `interrupted` completes when its program is interrupted.
 */
const stuck = <R extends "A" | "B" | "S">(
  role: R,
  interrupted: Deferred.Deferred<void>,
  started?: Deferred.Deferred<void>
) =>
  Session.role(TwoBuyer, role, (ep) =>
    Effect.gen(function* () {
      if (started !== undefined) yield* Deferred.succeed(started, undefined)
      const untyped = ep as unknown as Endpoint.UntypedEndpoint<Session.Failure>
      if (role === "A") yield* untyped.send("S", "title", "Dune")
      return yield* Effect.never
    }).pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)))
  )

const sellerS = Session.role(TwoBuyer, "S", (ep) =>
  Effect.gen(function* () {
    const title = yield* ep.receive()
    const quoted = yield* (yield* title.next.send("A", "quote", 30)).send("B", "quote", 30)
    const decision = yield* quoted.receive()
    yield* decision.next.close()
    return decision.label
  })
)

const failed = <A, E>(exit: Exit.Exit<A, E>) => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
  assert.instanceOf(error, Session.SessionAborted)
  return error as Session.SessionAborted
}

describe("Session failures", () => {
  it.effect("a role that waits longer than its step deadline aborts the session with a StepTimeout", () =>
    withSystem(
      Effect.gen(function* () {
        const aInterrupted = yield* Deferred.make<void>()
        const bInterrupted = yield* Deferred.make<void>()
        // A sends its title, then never buys or cancels: the seller waits in state 3.
        const A = yield* ActorSystem.spawn(
          Session.role(TwoBuyer, "A", (ep) =>
            Effect.gen(function* () {
              const quote = yield* (yield* ep.send("S", "title", "Dune")).receive()
              yield* quote.next.send("B", "split", 15)
              return yield* Effect.never
            }).pipe(Effect.onInterrupt(() => Deferred.succeed(aInterrupted, undefined)))
          )
        )
        const B = yield* ActorSystem.spawn(stuck("B", bInterrupted))
        const S = yield* ActorSystem.spawn(sellerS)
        const run = yield* Effect.forkChild(
          Session.run(TwoBuyer, { roles: { A, B, S }, id: "late", stepTimeouts: { S: "5 seconds" } })
        )
        // Time moves only with the test clock: one second at a time until the seller gives up.
        for (let i = 0; i < 20 && run.pollUnsafe() === undefined; i++) {
          yield* settle
          yield* TestClock.adjust("1 second")
        }
        const aborted = failed(yield* Fiber.await(run))
        assert.instanceOf(aborted.cause, Session.StepTimeout)
        assert.deepInclude(aborted.cause, { session: "late", role: "S", state: 3, waitedMillis: 5000 })
        assert.deepStrictEqual((aborted.cause as Session.StepTimeout).expected, ["A?buy(string)", "A?cancel()"])
        // the trace shows where the deadline passed
        assert.deepInclude(
          aborted.trace.find((e) => e._tag === "TimedOut"),
          { role: "S", state: 3, waitedMillis: 5000 }
        )
        assert.include(
          Diagram.trace(aborted.trace),
          "Note over S: deadline: waited 5000 ms for A?buy(string) or A?cancel()"
        )
        assert.match(aborted.cause.message, /Role S in session late of TwoBuyer waited 5000 ms in state 3/)
        yield* Deferred.await(aInterrupted)
        yield* Deferred.await(bInterrupted)
      })
    )
  )

  it.effect("no deadline fires while messages keep coming in time", () =>
    withSystem(
      Effect.gen(function* () {
        const A = yield* ActorSystem.spawn(
          Session.role(TwoBuyer, "A", (ep) =>
            Effect.gen(function* () {
              const quote = yield* (yield* ep.send("S", "title", "Dune")).receive()
              const answer = yield* (yield* quote.next.send("B", "split", 15)).receive()
              if (answer.label === "accept") yield* (yield* answer.next.send("S", "buy", "Dune")).close()
              else yield* (yield* answer.next.send("S", "cancel")).close()
            })
          )
        )
        const thinking = yield* Deferred.make<void>()
        const B = yield* ActorSystem.spawn(
          Session.role(TwoBuyer, "B", (ep) =>
            Effect.gen(function* () {
              const split = yield* (yield* ep.receive()).next.receive()
              yield* Deferred.succeed(thinking, undefined)
              yield* Effect.sleep("4 seconds") // thinking, on the test clock
              yield* (yield* split.next.send("A", "accept")).close()
            })
          )
        )
        const S = yield* ActorSystem.spawn(sellerS)
        const run = yield* Effect.forkChild(Session.run(TwoBuyer, { roles: { A, B, S }, stepTimeout: "5 seconds" }))
        // every role waits (A for B's answer, S for A's order) from the moment B starts thinking; B answers after
        // 4 of the 5 seconds, and the clock stops there: a deadline that fires did so too early
        yield* Deferred.await(thinking)
        yield* TestClock.adjust("4 seconds")
        const done = yield* Fiber.join(run)
        assert.deepStrictEqual(done.results, { A: undefined, B: undefined, S: "buy" })
      })
    )
  )

  it.effect("a participant whose program fails aborts the session for all, with the failure", () =>
    withSystem(
      Effect.gen(function* () {
        const aInterrupted = yield* Deferred.make<void>()
        const A = yield* ActorSystem.spawn(stuck("A", aInterrupted))
        const B = yield* ActorSystem.spawn(
          Session.role(TwoBuyer, "B", () => Effect.die(new Error("B lost its wallet")))
        )
        const S = yield* ActorSystem.spawn(sellerS)
        const aborted = failed(yield* Effect.exit(Session.run(TwoBuyer, { roles: { A, B, S }, id: "broke" })))
        assert.instanceOf(aborted.cause, Session.ParticipantFailed)
        assert.deepInclude(aborted.cause, { session: "broke", role: "B" })
        assert.include((aborted.cause as Session.ParticipantFailed).cause, "B lost its wallet")
        yield* Deferred.await(aInterrupted)
        // the actor itself goes on: it can play B in another session
        const system = yield* ActorSystem.ActorSystem
        assert.strictEqual((yield* system.lookup(B.path, Session.protocolOf(TwoBuyer, "B"))).path, B.path)
      })
    )
  )

  it.effect("a participant whose actor stops aborts the session for all; so does one that never joins", () =>
    withSystem(
      Effect.gen(function* () {
        const aStarted = yield* Deferred.make<void>()
        const bInterrupted = yield* Deferred.make<void>()
        const A = yield* ActorSystem.spawn(stuck("A", yield* Deferred.make<void>(), aStarted))
        const B = yield* ActorSystem.spawn(stuck("B", bInterrupted))
        const S = yield* ActorSystem.spawn(sellerS, { name: "seller" })
        const handle = yield* Session.start(TwoBuyer, { roles: { A, B, S }, id: "gone" })
        yield* Deferred.await(aStarted)
        yield* ActorSystem.stop(A)
        const aborted = yield* Effect.flip(handle.await)
        assert.instanceOf(aborted.cause, Session.ParticipantStopped)
        assert.deepInclude(aborted.cause, { session: "gone", role: "A", reason: "stopped" })
        yield* Deferred.await(bInterrupted)

        // A stopped actor cannot join a new session.
        const again = yield* Effect.flip(
          Session.run(TwoBuyer, { roles: { A, B: yield* ActorSystem.spawn(sellerBuyer()), S } })
        )
        assert.strictEqual(again._tag, "SessionAborted")
        if (again._tag === "SessionAborted") assert.deepInclude(again.cause, { _tag: "ParticipantStopped", role: "A" })
      }).pipe(Effect.scoped)
    )
  )

  it.effect("a session is cancelled by its handle, and when the scope that started it closes", () =>
    withSystem(
      Effect.gen(function* () {
        const started = yield* Deferred.make<void>()
        const interrupted = yield* Deferred.make<void>()
        const A = yield* ActorSystem.spawn(stuck("A", interrupted, started))
        const B = yield* ActorSystem.spawn(stuck("B", yield* Deferred.make<void>()))
        const S = yield* ActorSystem.spawn(sellerS)
        const handle = yield* Session.start(TwoBuyer, { roles: { A, B, S }, id: "called-off" })
        yield* Deferred.await(started)
        yield* handle.abort("the shop closed")
        const aborted = yield* Effect.flip(handle.await)
        assert.instanceOf(aborted.cause, Session.SessionCancelled)
        assert.deepInclude(aborted.cause, { session: "called-off", reason: "the shop closed" })
        yield* Deferred.await(interrupted)

        // cancelled before it began: nobody waits
        const early = yield* Session.start(TwoBuyer, { roles: { A, B, S } })
        yield* early.abort()
        assert.deepInclude((yield* Effect.flip(early.await)).cause, { _tag: "SessionCancelled" })

        // the fiber that runs a session is interrupted: the session is cancelled
        const started2 = yield* Deferred.make<void>()
        const interrupted2 = yield* Deferred.make<void>()
        const A2 = yield* ActorSystem.spawn(stuck("A", interrupted2, started2))
        const run = yield* Effect.forkChild(Session.run(TwoBuyer, { roles: { A: A2, B, S } }))
        yield* Deferred.await(started2)
        yield* Fiber.interrupt(run)
        yield* Deferred.await(interrupted2)
      }).pipe(Effect.scoped)
    )
  )
})

const sellerBuyer = () => Session.role(TwoBuyer, "B", () => Effect.never)

describe("Session: a coordinator that stops", () => {
  it.effect("ends the session for its roles on the same node (which do not watch it)", () =>
    withSystem(
      Effect.gen(function* () {
        const started = yield* Deferred.make<void>()
        const aInterrupted = yield* Deferred.make<void>()
        const bInterrupted = yield* Deferred.make<void>()
        const A = yield* ActorSystem.spawn(stuck("A", aInterrupted, started))
        const B = yield* ActorSystem.spawn(stuck("B", bInterrupted))
        const S = yield* ActorSystem.spawn(sellerS)
        const handle = yield* Session.start(TwoBuyer, { roles: { A, B, S }, id: "orphaned" })
        yield* Deferred.await(started)
        const system = yield* ActorSystem.ActorSystem
        const coordinator = yield* system.lookup("/user/session-orphaned", protocolsOf(TwoBuyer).coordinator)
        yield* ActorSystem.stop(coordinator)
        const aborted = yield* Effect.flip(handle.await)
        assert.deepInclude(aborted.cause, { _tag: "SessionCancelled", reason: "its coordinator stopped" })
        // the roles' programs end (nobody would ever tell them)
        yield* Deferred.await(aInterrupted)
        yield* Deferred.await(bInterrupted)
      }).pipe(Effect.scoped)
    )
  )
})

// ---------------------------------------------------------------------------------------------------------
// Restartable roles
// ---------------------------------------------------------------------------------------------------------

/** A client hands a worker three jobs at once; the worker answers each. The worker may restart. */
const Jobs = Choreography.makeUnsafe(
  "Jobs",
  ["C", "W"],
  ($) => [
    $.message("C", "W", "job", Schema.Number),
    $.message("C", "W", "job", Schema.Number),
    $.message("C", "W", "job", Schema.Number),
    $.message("W", "C", "result", Schema.Number),
    $.message("W", "C", "result", Schema.Number),
    $.message("W", "C", "result", Schema.Number)
  ],
  { restartable: ["W"] }
)

describe("Session: restartable roles", () => {
  it.effect("a restarted role resumes from its checkpoint: nothing handled twice, nothing lost", () =>
    withSystem(
      Effect.gen(function* () {
        const work: Array<number> = [] // side effects of the worker, once per job
        const runs: Array<boolean> = [] // each run of the worker's program: resumed or not
        let crashed = false
        const W = yield* ActorSystem.spawn(
          Session.role(Jobs, "W", (ep, session) =>
            Effect.gen(function* () {
              runs.push(session.resumed)
              const square = (n: number) =>
                session.once(
                  Effect.sync(() => {
                    work.push(n)
                    return n * n
                  })
                )
              const j1 = yield* ep.receive()
              const r1 = yield* square(j1.payload)
              const j2 = yield* j1.next.receive()
              const r2 = yield* square(j2.payload)
              if (!crashed) {
                crashed = true
                return yield* Effect.die(new Error("the worker tripped"))
              }
              const j3 = yield* j2.next.receive()
              const r3 = yield* square(j3.payload)
              const e1 = yield* j3.next.send("C", "result", r1)
              const e2 = yield* e1.send("C", "result", r2)
              yield* (yield* e2.send("C", "result", r3)).close()
              return "done"
            })
          ),
          { name: "worker" }
        )
        const C = yield* ActorSystem.spawn(
          Session.role(Jobs, "C", (ep) =>
            Effect.gen(function* () {
              const sent = yield* (yield* (yield* ep.send("W", "job", 2)).send("W", "job", 3)).send("W", "job", 4)
              const r1 = yield* sent.receive()
              const r2 = yield* r1.next.receive()
              const r3 = yield* r2.next.receive()
              yield* r3.next.close()
              return [r1.payload, r2.payload, r3.payload]
            })
          )
        )
        const system = yield* ActorSystem.ActorSystem
        const events: Array<SystemEvent.SystemEvent> = []
        const stream = yield* system.subscribe
        yield* Stream.runForEach(stream, (e) => Effect.sync(() => events.push(e))).pipe(Effect.forkScoped)

        const done = yield* Session.run(Jobs, { roles: { C, W }, id: "jobs" })
        assert.deepStrictEqual(done.results, { C: [4, 9, 16], W: "done" })
        assert.deepStrictEqual(work, [2, 3, 4]) // job 2 and 3 were not worked twice
        assert.deepStrictEqual(runs, [false, true])
        // the events reach this test's subscriber in their own time
        yield* eventually(
          () =>
            events.some((e) => e._tag === "Restarted" && e.path === "/user/worker") &&
            events.some((e) => e._tag === "SessionResumed" && e.session === "jobs" && e.role === "W" && e.state === 2),
          "the Restarted and SessionResumed events"
        )
        // the trace has each message once
        assert.deepStrictEqual(
          done.trace.filter((e) => e._tag === "Sent").map((e) => `${e.from}->${e.to}:${e.label}(${e.payload})`),
          ["C->W:job(2)", "C->W:job(3)", "C->W:job(4)", "W->C:result(4)", "W->C:result(9)", "W->C:result(16)"]
        )
        // ... and the crash and the resume, where they happened: after the second job, before the third
        const w = done.trace.filter((e) => ("role" in e && e.role === "W") || (e._tag === "Received" && e.to === "W"))
        assert.deepStrictEqual(
          w.map((e) => (e._tag === "Received" ? `${e._tag} ${e.payload}` : e._tag)),
          ["Received 2", "Received 3", "Crashed", "Resumed", "Received 4"]
        )
        assert.deepInclude(w[2], { role: "W", state: 2, reason: "the worker tripped" })
        assert.deepInclude(w[3], { role: "W", state: 2 })
        assert.isTrue(
          events.some((e) => e._tag === "SessionCrashed" && e.role === "W" && e.cause === "the worker tripped")
        )
        const drawn = Diagram.trace(done.trace)
        assert.include(drawn, "Note over W: crashed in state 2: the worker tripped")
        assert.include(drawn, "Note over W: restarted#59; resumed from its checkpoint at state 2")
      }).pipe(Effect.scoped)
    )
  )

  it.effect("a restarted role whose program does not do what its checkpoint recorded aborts, naming both moves", () =>
    withSystem(
      Effect.gen(function* () {
        let crashed = false
        // resumed, the worker skips the once effect it ran before: it takes the second job where it ran it
        const W = yield* ActorSystem.spawn(
          Session.role(Jobs, "W", (ep, session) =>
            Effect.gen(function* () {
              const j1 = yield* ep.receive()
              if (!session.resumed) yield* session.once(Effect.succeed(j1.payload))
              yield* j1.next.receive()
              if (crashed) return yield* Effect.never
              crashed = true
              return yield* Effect.die(new Error("the worker tripped"))
            })
          )
        )
        const C = yield* ActorSystem.spawn(
          Session.role(Jobs, "C", (ep) =>
            Effect.andThen(
              Effect.flatMap(ep.send("W", "job", 2), (e) => e.send("W", "job", 3)),
              Effect.never
            )
          )
        )
        const aborted = yield* Effect.flip(Session.run(Jobs, { roles: { C, W } }))
        assert.strictEqual(aborted._tag, "SessionAborted")
        if (aborted._tag === "SessionAborted") {
          assert.deepInclude(aborted.cause, { _tag: "ParticipantFailed", role: "W" })
          assert.include(
            (aborted.cause as Session.ParticipantFailed).cause,
            "could not resume from its checkpoint: the program did C? where the checkpoint has once"
          )
        }
      })
    )
  )

  it.effect("a role that is not restartable aborts the session when its program fails", () =>
    withSystem(
      Effect.gen(function* () {
        const C = yield* ActorSystem.spawn(Session.role(Jobs, "C", () => Effect.die(new Error("the client tripped"))))
        const W = yield* ActorSystem.spawn(Session.role(Jobs, "W", (ep) => Effect.andThen(ep.receive(), Effect.never)))
        const aborted = yield* Effect.flip(Session.run(Jobs, { roles: { C, W } }))
        assert.strictEqual(aborted._tag, "SessionAborted")
        if (aborted._tag === "SessionAborted")
          assert.deepInclude(aborted.cause, { _tag: "ParticipantFailed", role: "C" })
      })
    )
  )
})
