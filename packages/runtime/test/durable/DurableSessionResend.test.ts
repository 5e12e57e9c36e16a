/**
 * A durable session's role that completed, asked to send again what it sent a peer that resumed from the log:
 * it answers from the log (or, while its completion is being committed, from memory) without running its
 * program again, and the peer takes each message once. (Before, its participant no longer held the session,
 * joined it afresh and replayed its whole program: after a restart of a node with 100 sessions in flight, 97 of
 * the producers ran twice.)
 */
import { ActorSystem, Behavior, Choreography, DurableSession, Session } from "@troupe/runtime"
import { Deferred, Effect, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { internal } from "../../src/ActorSystem.ts"
import { participantsOf } from "../../src/choreography/internal/participant.ts"
import { databases, onStorage } from "./databases.ts"

/** A producer streams items to a consumer, then says it is done. */
const Stream = Choreography.makeUnsafe("Stream", ["P", "C"], ($) => [
  $.loop("Items", [
    $.choice("P", {
      item: [$.message("P", "C", "item", Schema.Number), $.continue("Items")],
      done: [$.message("P", "C", "done", Schema.Void)]
    })
  ])
])

const ITEMS = 20

/**
 * The producer: sends items 1..ITEMS, with a `once` effect (`pause`) after half of them and `before` at its end;
 * `runs` counts the runs of its program per session.
 */
const producer = (runs: Map<string, number>, pause: Effect.Effect<void>, before: Effect.Effect<void> = Effect.void) =>
  Session.role(Stream, "P", (ep, ctx) =>
    Effect.gen(function* () {
      runs.set(ctx.session, (runs.get(ctx.session) ?? 0) + 1)
      let e = ep
      for (let i = 1; i <= ITEMS; i++) {
        if (i === ITEMS / 2 + 1) yield* ctx.once(pause)
        e = yield* e.send("C", "item", i)
      }
      yield* before
      yield* (yield* e.send("C", "done")).close()
    })
  )

/** The consumer: what it took, in order. */
const consumer = Session.role(Stream, "C", (ep) =>
  Effect.gen(function* () {
    let e = ep
    const items: Array<number> = []
    for (;;) {
      const m = yield* e.receive()
      if (m.label === "done") {
        yield* m.next.close()
        return items
      }
      items.push(m.payload)
      e = m.next
    }
  })
)

const all = Array.from({ length: ITEMS }, (_, i) => i + 1)

type Resent = Array<{ readonly seq: number; readonly label: string; readonly payload: unknown }>

/** An actor that stands for the consumer's participant and keeps the session messages it is sent (counted). */
const recorder = (got: Resent) =>
  Behavior.make(Session.protocolOf(Stream, "C"), {
    initial: 0,
    receive: {
      Join: (n) => Effect.succeed({ state: n, reply: true }),
      Begin: (n) => Effect.succeed(n),
      Deliver: (n, m) =>
        Effect.sync(() => {
          got.push({ seq: m.seq, label: m.label, payload: m.payload })
          return n + 1
        }),
      Abort: (n) => Effect.succeed(n),
      CoordinatorDown: (n) => Effect.succeed(n),
      Crash: (n) => Effect.succeed(n),
      Resume: (n) => Effect.succeed(n)
    }
  })

/**
 * Asks the producer's participant, as a coordinator that restarted would, to send again to C, which a recorder
 * now stands for; answers what the recorder got.
 */
const resendToRecorder = (session: string) =>
  Effect.gen(function* () {
    const got: Resent = []
    const to = yield* ActorSystem.spawn(recorder(got))
    const P = yield* ActorSystem.lookup("/user/P", Session.protocolOf(Stream, "P"))
    yield* P.ask({
      _tag: "Join",
      session,
      roles: { P, C: to },
      coordinator: to,
      traceLimit: 100,
      durable: { deadlineMillis: 5_000, begun: true, resendTo: "C" }
    } as never)
    // the producer's participant told the recorder before it answered: once the recorder answers a message of
    // its own, it has handled them
    yield* to.ask({ _tag: "Join" } as never)
    return got
  })

/** Every message the producer sent, once each, in order. */
const expectEachOnce = (got: Resent) => {
  expect(got.map((m) => m.seq)).toEqual([...all, ITEMS + 1])
  expect(got.map((m) => m.payload)).toEqual([...all, undefined])
  expect(got.at(-1)?.label).toBe("done")
}

for (const db of databases()) {
  describe(`a durable session's completed role asked to send again, on ${db.name}`, () => {
    it("sessions recovered together: producers run once, consumers take each item once", async () => {
      const location = await db.fresh()
      const SESSIONS = 20
      // the first "process": every producer stops in its `once` effect after half its items; the node goes down
      let paused = 0
      await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const system = yield* ActorSystem.ActorSystem
          const runs = new Map<string, number>()
          const pause = Effect.andThen(
            Effect.sync(() => void paused++),
            Effect.never
          )
          const P = yield* ActorSystem.spawn(producer(runs, pause), { name: "P" })
          const C = yield* ActorSystem.spawn(consumer, { name: "C" })
          for (let s = 0; s < SESSIONS; s++) yield* DurableSession.start(Stream, { roles: { P, C }, id: `s${s}` })
          while (paused < SESSIONS) yield* Effect.sleep("2 millis")
          yield* system.shutdown
        })
      )
      // the second: the sessions resume; a producer that completed before its consumer joined again is asked to
      // send it again what it sent
      const runs = new Map<string, number>()
      let onces = 0
      const results = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          yield* ActorSystem.spawn(
            producer(
              runs,
              Effect.sync(() => void onces++)
            ),
            { name: "P" }
          )
          yield* ActorSystem.spawn(consumer, { name: "C" })
          const handles = yield* DurableSession.recover([Stream])
          return yield* Effect.forEach(handles, (h) => Effect.map(h.await, (done) => done.results.C), {
            concurrency: "unbounded"
          })
        })
      )
      expect(results).toEqual(Array.from({ length: SESSIONS }, () => all))
      expect(onces).toBe(SESSIONS)
      // each producer's program ran once in the second process (a second run is a replay of its whole log)
      expect([...runs.entries()].filter(([, n]) => n !== 1)).toEqual([])
      expect(runs.size).toBe(SESSIONS)
    }, 30_000)

    it("a role whose completion is committed sends again what the log holds, without running its program", async () => {
      const location = await db.fresh()
      const runs = new Map<string, number>()
      const done = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const P = yield* ActorSystem.spawn(producer(runs, Effect.void), { name: "P" })
          const C = yield* ActorSystem.spawn(consumer, { name: "C" })
          const completed = yield* DurableSession.run(Stream, { roles: { P, C }, id: "s" })
          return { completed, got: yield* resendToRecorder("s") }
        })
      )
      expect(done.completed.results.C).toEqual(all)
      expect(runs.get("s")).toBe(1)
      expectEachOnce(done.got)
    })

    // PostgreSQL: a row lock holds the completion's commit, so that the Join comes while it is being committed
    it.skipIf(db.name !== "postgres")(
      "a role whose completion is being committed sends again from memory, without running its program",
      async () => {
        const location = await db.fresh()
        const runs = new Map<string, number>()
        const done = await onStorage(
          db,
          location,
          Effect.scoped(
            Effect.gen(function* () {
              const system = yield* ActorSystem.ActorSystem
              const gate = yield* Deferred.make<void>()
              const P = yield* ActorSystem.spawn(producer(runs, Effect.void, Deferred.await(gate)), { name: "P" })
              const C = yield* ActorSystem.spawn(consumer, { name: "C" })
              const handle = yield* DurableSession.start(Stream, { roles: { P, C }, id: "s" })
              const locked = yield* Deferred.make<void>()
              const release = yield* Deferred.make<void>()
              yield* Effect.forkScoped(
                Effect.gen(function* () {
                  const sql = yield* SqlClient.SqlClient
                  yield* sql.withTransaction(
                    Effect.gen(function* () {
                      yield* sql`SELECT done FROM troupe_session_roles WHERE session = 's' AND role = 'P' FOR UPDATE`
                      yield* Deferred.succeed(locked, undefined)
                      yield* Deferred.await(release)
                    })
                  )
                }).pipe(Effect.provide(db.client(location)))
              )
              yield* Deferred.await(locked)
              yield* Deferred.succeed(gate, undefined)
              // the producer completed; its completion waits for the lock
              const participant = participantsOf(internal(system)).get("/user/P")!
              while (!participant.completing.has("s")) yield* Effect.sleep("1 millis")
              const got = yield* resendToRecorder("s")
              const whileCommitting = participant.completing.has("s")
              yield* Deferred.succeed(release, undefined)
              return { completed: yield* handle.await, got, whileCommitting }
            })
          )
        )
        expect(done.whileCommitting).toBe(true)
        expect(done.completed.results.C).toEqual(all)
        expect(runs.get("s")).toBe(1)
        expectEachOnce(done.got)
      }
    )
  })
}
