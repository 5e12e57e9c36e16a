/**
 * How a session of one node starts when a participant does not answer: its coordinator asks the participants of
 * its node to join with callbacks (no fiber per session), so these are the faults of that path.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { protocolsOf } from "../../src/choreography/internal/sessionProtocols.ts"
import { ActorSystem, Behavior, Mailbox, Session, type SystemEvent } from "../../src/index.ts"
import { buyerA, seller, TwoBuyer } from "./fixtures.ts"

/** Two-Buyer's B: accepts any split. */
const buyerB = Session.role(TwoBuyer, "B", (ep) =>
  Effect.gen(function* () {
    const quote = yield* ep.receive()
    const split = yield* quote.next.receive()
    yield* (yield* split.next.send("A", "accept")).close()
  })
)

const withSystem = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(effect, ActorSystem.layer({ askTimeout: "300 millis" }))

/** A participant of `role` whose handler answers a join only once `release` completes; `begun` completes at Begin. */
const slowToJoin = <R extends "A" | "B" | "S">(
  role: R,
  release: Deferred.Deferred<void>,
  begun?: Deferred.Deferred<void>
) =>
  Behavior.make(Session.protocolOf(TwoBuyer, role), {
    initial: null,
    receive: {
      Join: (state) => Effect.as(Deferred.await(release), { state, reply: false }),
      Begin: (state) => Effect.as(begun === undefined ? Effect.void : Deferred.succeed(begun, undefined), state),
      Deliver: (state) => Effect.succeed(state),
      Abort: (state) => Effect.succeed(state),
      CoordinatorDown: (state) => Effect.succeed(state),
      Crash: (state) => Effect.succeed(state),
      Resume: (state) => Effect.succeed(state)
    }
  })

/** A participant of `role` busy with any session message until `release` completes; it joins at once. */
const busy = <R extends "A" | "B" | "S">(role: R, release: Deferred.Deferred<void>) =>
  Behavior.make(Session.protocolOf(TwoBuyer, role), {
    initial: null,
    receive: {
      Join: (state) => Effect.succeed({ state, reply: false }),
      Begin: (state) => Effect.succeed(state),
      Deliver: (state) => Effect.as(Deferred.await(release), state),
      Abort: (state) => Effect.succeed(state),
      CoordinatorDown: (state) => Effect.succeed(state),
      Crash: (state) => Effect.succeed(state),
      Resume: (state) => Effect.succeed(state)
    }
  })

/** A role whose program records that it began. */
const began = <R extends "B" | "S">(role: R, flag: Deferred.Deferred<void>) =>
  Session.role(TwoBuyer, role, () => Deferred.succeed(flag, undefined))

describe("Session: joining the participants of one node", () => {
  it.live("a participant that does not answer in time aborts the session before any role begins", () =>
    withSystem(
      Effect.gen(function* () {
        const release = yield* Deferred.make<void>()
        const bBegan = yield* Deferred.make<void>()
        const sBegan = yield* Deferred.make<void>()
        const A = yield* ActorSystem.spawn(slowToJoin("A", release))
        const B = yield* ActorSystem.spawn(began("B", bBegan))
        const S = yield* ActorSystem.spawn(began("S", sBegan))
        const aborted = yield* Effect.flip(Session.run(TwoBuyer, { roles: { A, B, S }, id: "late" }))
        assert.instanceOf(aborted.cause, Session.ParticipantStopped)
        assert.deepInclude(aborted.cause, { session: "late", role: "A", reason: "unreachable" })
        assert.isFalse(yield* Deferred.isDone(bBegan))
        assert.isFalse(yield* Deferred.isDone(sBegan))
        // the late answer finds the session over; the roles that joined left it and play the next one
        yield* Deferred.succeed(release, undefined)
        const A2 = yield* ActorSystem.spawn(buyerA)
        const B2 = yield* ActorSystem.spawn(buyerB)
        const S2 = yield* ActorSystem.spawn(seller)
        const done = yield* Session.run(TwoBuyer, { roles: { A: A2, B: B2, S: S2 } })
        assert.strictEqual(done.results.S, "buy")
      })
    )
  )

  it.live(
    "a coordinator stopped while it waits for the joins cancels the session, and the late answers are dropped",
    () =>
      withSystem(
        Effect.gen(function* () {
          const release = yield* Deferred.make<void>()
          const bBegan = yield* Deferred.make<void>()
          const sBegan = yield* Deferred.make<void>()
          // no participant answers before the coordinator stops
          const A = yield* ActorSystem.spawn(slowToJoin("A", release))
          const B = yield* ActorSystem.spawn(slowToJoin("B", release, bBegan))
          const S = yield* ActorSystem.spawn(slowToJoin("S", release, sBegan))
          const system = yield* ActorSystem.ActorSystem
          const deadLetters: Array<string> = []
          yield* Stream.runForEach(yield* system.subscribe, (e: SystemEvent.SystemEvent) =>
            Effect.sync(() => (e._tag === "DeadLetter" ? deadLetters.push(`${e.tag} to ${e.recipient}`) : undefined))
          ).pipe(Effect.forkScoped)
          const handle = yield* Session.start(TwoBuyer, { roles: { A, B, S }, id: "stopped-joining" })
          const coordinator = yield* system.lookup("/user/session-stopped-joining", protocolsOf(TwoBuyer).coordinator)
          yield* ActorSystem.stop(coordinator)
          const aborted = yield* Effect.flip(handle.await)
          assert.deepInclude(aborted.cause, { _tag: "SessionCancelled", reason: "its coordinator stopped" })
          yield* Deferred.succeed(release, undefined)
          // each answers a join after the one the coordinator asked: by then the first is answered (or dropped)
          const after = { _tag: "Join", session: "after", roles: {}, coordinator, traceLimit: 0 } as never
          yield* Effect.all([A.ask(after), B.ask(after), S.ask(after)], { discard: true })
          assert.deepStrictEqual(deadLetters, [])
          assert.isFalse(yield* Deferred.isDone(bBegan))
          assert.isFalse(yield* Deferred.isDone(sBegan))
        }).pipe(Effect.scoped)
      )
  )

  // Found in session 7 (sess5): these sessions never completed. A coordinator tells `Begin` to a full mailbox from a
  // fiber; the tell's effect, made while the mailbox was full, parked its sender when it ran, by when the mailbox could
  // have emptied: the actor was left idle with a waiter nothing would let in, and every later send waited behind it.
  it.live("sessions whose roles' mailboxes are full begin once there is room, each role once, none lost", () =>
    Effect.provide(
      Effect.gen(function* () {
        // a mailbox of 2 with 50 sessions at once: most joins, begins and session messages wait for room
        const small = { mailbox: Mailbox.bounded(2) }
        const A = yield* ActorSystem.spawn(buyerA, small)
        const B = yield* ActorSystem.spawn(buyerB, small)
        const S = yield* ActorSystem.spawn(seller, small)
        const done = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i),
          (i) => Session.run(TwoBuyer, { roles: { A, B, S }, id: `full-${i}` }),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(done.length, 50)
        assert.strictEqual(new Set(done.map((d) => d.session)).size, 50)
        // every role of every session began once and completed (a Begin lost would hang its session)
        for (const d of done) assert.deepStrictEqual(Object.keys(d.results).sort(), ["A", "B", "S"])
      }),
      // (joins wait for room too: no deadline of theirs should end a session on a loaded machine)
      ActorSystem.layer({ askTimeout: "60 seconds" })
    )
  )

  it.live("joins that wait for room past their deadline fail their sessions, typed, and nothing hangs", () =>
    withSystem(
      Effect.gen(function* () {
        const release = yield* Deferred.make<void>()
        const bBegan = yield* Deferred.make<void>()
        const sBegan = yield* Deferred.make<void>()
        // A is busy with a message until `release`, and its mailbox holds one: of three sessions' joins, one waits in
        // the mailbox and two with the senders waiting for room, all past the ask deadline (300 ms)
        const A = yield* ActorSystem.spawn(busy("A", release), { mailbox: Mailbox.bounded(1) })
        const B = yield* ActorSystem.spawn(began("B", bBegan))
        const S = yield* ActorSystem.spawn(began("S", sBegan))
        const system = yield* ActorSystem.ActorSystem
        const expired = yield* (yield* system.subscribe).pipe(
          Stream.filter((e) => e._tag === "DeadLetter" && e.recipient === A.path),
          Stream.take(3),
          Stream.runCollect,
          Effect.forkScoped
        )
        const overflowed = yield* (yield* system.subscribe).pipe(
          Stream.filter((e) => e._tag === "Overflow" && e.path === A.path),
          Stream.take(1),
          Stream.runDrain,
          Effect.forkScoped
        )
        yield* A.tell({ _tag: "Deliver", session: "none", seq: 1, from: "S", label: "quote", payload: 0 } as never)
        const aborted = yield* Effect.forEach(
          [0, 1, 2],
          (i) => Effect.flip(Session.run(TwoBuyer, { roles: { A, B, S }, id: `parked-${i}` })),
          { concurrency: "unbounded" }
        )
        yield* Fiber.join(overflowed) // (a join did wait for room)
        for (const [i, { cause }] of aborted.entries()) {
          assert.instanceOf(cause, Session.ParticipantStopped)
          assert.deepInclude(cause, { session: `parked-${i}`, role: "A", reason: "unreachable" })
          assert.include((cause as Session.ParticipantStopped).detail, `No reply from ${A.path} to Join`)
        }
        assert.isFalse(yield* Deferred.isDone(bBegan))
        assert.isFalse(yield* Deferred.isDone(sBegan))
        // once A is free, the joins nobody waits for any more are dropped, and A answers the next at once
        yield* Deferred.succeed(release, undefined)
        const dropped = yield* Fiber.join(expired)
        assert.deepStrictEqual(
          dropped.map((e) => (e._tag === "DeadLetter" ? `${e.tag} ${e.reason}` : e._tag)),
          ["Join expired", "Join expired", "Join expired"]
        )
        const coordinator = A as never
        assert.isFalse(yield* A.ask({ _tag: "Join", session: "after", roles: {}, coordinator, traceLimit: 0 } as never))
      }).pipe(Effect.scoped)
    )
  )
})
