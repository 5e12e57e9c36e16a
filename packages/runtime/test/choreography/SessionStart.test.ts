/**
 * When a session's start goes on in its caller's call, and when it waits for the admission's dispatcher (see
 * `sessionAdmission.ts`): a lone session starts at once, before the event loop turns (it lost a turn when every
 * session waited for the dispatcher); within one turn, sessions go on in their callers' calls for at most the turn's
 * budget (5 ms), and the next waits for a later turn, in order, so that a burst cannot keep the loop from turning.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { internal } from "../../src/ActorSystem.ts"
import { Admission, TURN_MILLIS } from "../../src/choreography/internal/sessionAdmission.ts"
import { ActorSystem, Session } from "../../src/index.ts"
import { Ask, askClient, askServer } from "./fixtures.ts"

/** Whether the event loop turned since `turned()` was made (a `setImmediate` queued then has run). */
const loopTurns = () => {
  let turned = false
  setImmediate(() => {
    turned = true
  })
  return () => turned
}

const busyFor = (millis: number) => {
  const until = performance.now() + millis
  while (performance.now() < until) {}
}

describe("Session: starting in the caller's call", () => {
  it.live(
    "a lone session starts before the event loop turns: Session.start returns its handle in the caller's call",
    () =>
      Effect.gen(function* () {
        const C = yield* ActorSystem.spawn(askClient)
        const S = yield* ActorSystem.spawn(askServer)
        yield* Session.run(Ask, { roles: { C, S } }) // (the code's first use)
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        for (let i = 0; i < 20; i++) {
          const turned = loopTurns()
          const handle = yield* Session.start(Ask, { roles: { C, S } })
          assert.isFalse(turned(), `session ${i}: the loop turned before Session.start returned`)
          const done = yield* handle.await
          assert.strictEqual(done.results.C, 2)
          yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        }
      }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer({ askTimeout: "60 seconds" })))
  )

  it.live(
    "within one turn, sessions go on in their callers' calls for at most the turn's budget; the next waits for a later turn, in order",
    () =>
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const admission = Admission.of(internal(system))
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        const turned = loopTurns()
        yield* admission.admit("P", "a") // at once, in this call
        assert.strictEqual(admission.joining, 1)
        busyFor(TURN_MILLIS + 1) // (as the first sessions' own work in this call would)
        const b = yield* Effect.forkChild(admission.admit("P", "b"), { startImmediately: true })
        const c = yield* Effect.forkChild(admission.admit("P", "c"), { startImmediately: true })
        assert.isUndefined(b.pollUnsafe(), "b went on though the turn's budget was spent")
        assert.isUndefined(c.pollUnsafe(), "c overtook b")
        assert.isFalse(turned())
        yield* Fiber.join(b)
        yield* Fiber.join(c)
        assert.isTrue(turned())
        assert.strictEqual(admission.joining, 3)
        // a new turn has a budget of its own: a session goes on at once again
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        const again = loopTurns()
        yield* admission.admit("P", "d")
        assert.isFalse(again())
        for (let i = 0; i < 4; i++) admission.release()
      }).pipe(Effect.provide(ActorSystem.layer({ askTimeout: "60 seconds", maxJoiningSessions: 8 })))
  )
})
