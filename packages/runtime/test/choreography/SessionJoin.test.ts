/**
 * How a session of one node starts when a participant does not answer: its coordinator asks the participants of
 * its node to join with callbacks (no fiber per session), so these are the faults of that path.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Stream } from "effect"
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

  // FINDING (session 7, sess5): hangs on main 73a015a (a session never completes: no `Begin` or join answer gets
  // through); it passed 3 of 3 with the coordinator telling `Begin` from its handler and parking it with the waiting
  // senders when the mailbox is full (sess5's reverted 0cb8deb), which still hung 2 of ~12 probe runs of 10 k sessions
  // at once. Skipped until the cause is found: see bench/notes.ts, sessions_10k_vs_1.
  it.live.skip("sessions whose roles' mailboxes are full begin once there is room, each role once, none lost", () =>
    Effect.provide(
      Effect.gen(function* () {
        // a mailbox of 2 with 50 sessions at once: most joins and begins wait for room (the coordinators tell
        // `Begin` without a fiber of their own: the message waits with the senders, in order)
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
})
