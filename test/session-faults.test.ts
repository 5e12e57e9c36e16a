/**
 * Sessions under faults (issue 9, scenarios 1, 6 and 17), in one actor system and across two nodes over the
 * in-process and the WebSocket transports, with the role under test on the node that does not host the
 * session's coordinator:
 * - a role whose result is `undefined` completes the session with `undefined`; one whose result cannot cross
 *   the wire (a bigint) aborts it with a typed error naming the role; nothing hangs;
 * - a restartable role whose program fails in N sessions at once costs one restart: each session resumes
 *   once, each `once` effect runs at most once more, and every session completes (N = 6 spent the restart
 *   budget before);
 * - a message sent that no role ever takes is a violation naming it, whether it is still queued when its
 *   receiver ends or arrives after.
 */
import { type ActorRef, ActorSystem, type Behavior, Choreography, type Protocol, Session } from "@troupe/runtime"
import { Deferred, Effect, Exit, Schema, type Scope, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { uncheckedPeer } from "../packages/runtime/test/choreography/fixtures.ts"
import * as Nodes from "./support/topology.ts"

/** Where a test runs: `home` starts sessions (and hosts their coordinators); `away` hosts the role under test. */
interface Places {
  readonly home: ActorSystem.ActorSystemService
  readonly away: ActorSystem.ActorSystemService
  /** Spawns on `away`; the ref works from `home`. */
  spawnAway<P extends Protocol.Any, S>(behavior: Behavior.Behavior<P, S>): Effect.Effect<ActorRef.ActorRef<P>>
}

const oneSystem: Effect.Effect<Places, never, Scope.Scope> = Effect.map(
  Effect.orDie(ActorSystem.make({ name: "home" })),
  (home) => ({ home, away: home, spawnAway: (behavior) => Effect.orDie(home.spawn(behavior)) })
)

const twoNodes = (nodes: Nodes.Topology): Effect.Effect<Places, never, Scope.Scope> =>
  Effect.map(Effect.orDie(nodes.start(["home", "away"])), ([home, away]) => ({
    home: home!.system,
    away: away!.system,
    spawnAway: (behavior) =>
      Effect.orDie(
        Effect.flatMap(away!.system.spawn(behavior), (ref) =>
          home!.system.lookup(ref.path, behavior.protocol, { node: "away" })
        )
      )
  }))

const topologies = [
  { name: "one actor system", places: oneSystem },
  { name: "two nodes over the in-process transport", places: twoNodes(Nodes.inProcess) },
  { name: "two nodes over the WebSocket transport", places: twoNodes(Nodes.webSocket) }
]

const run = <A, E>(
  places: Effect.Effect<Places, never, Scope.Scope>,
  body: (places: Places) => Effect.Effect<A, E, ActorSystem.ActorSystem | Scope.Scope>
) =>
  Effect.runPromiseExit(
    Effect.scoped(Effect.flatMap(places, (p) => body(p).pipe(Effect.provideService(ActorSystem.ActorSystem, p.home))))
  )

const failureOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined

/** C hands W a job; W answers it. */
const Job = Choreography.makeUnsafe("Job", ["C", "W"], ($) => [
  $.message("C", "W", "job", Schema.Number),
  $.message("W", "C", "result", Schema.Number)
])

const client = Session.role(Job, "C", (ep) =>
  Effect.gen(function* () {
    const result = yield* (yield* ep.send("W", "job", 7)).receive()
    yield* result.next.close()
    return result.payload
  })
)

/** A worker whose program returns `result` (or its last move's endpoint, whose result is nothing). */
const worker = (result: "endpoint" | "undefined" | "bigint") =>
  Session.role(Job, "W", (ep) =>
    Effect.gen(function* () {
      const job = yield* ep.receive()
      const last = yield* job.next.send("C", "result", job.payload * 2)
      if (result === "endpoint") return last
      yield* last.close()
      return result === "undefined" ? undefined : 10n
    })
  )

/** A client hands a worker two jobs; the worker answers each. The worker may restart. */
const Jobs = Choreography.makeUnsafe(
  "Jobs",
  ["C", "W"],
  ($) => [
    $.message("C", "W", "job", Schema.Number),
    $.message("C", "W", "job", Schema.Number),
    $.message("W", "C", "result", Schema.Number),
    $.message("W", "C", "result", Schema.Number)
  ],
  { restartable: ["W"] }
)

/** A says hello to B; B says bye. */
const Greeting = Choreography.makeUnsafe("Greeting", ["A", "B"], ($) => [
  $.message("A", "B", "hello", Schema.String),
  $.message("B", "A", "bye", Schema.Void)
])

for (const topology of topologies) {
  describe(`sessions under faults (${topology.name})`, () => {
    it("a role whose result is undefined (it ends with its last move) completes with undefined", async () => {
      const exit = await run(topology.places, ({ spawnAway, home }) =>
        Effect.gen(function* () {
          const W1 = yield* spawnAway(worker("endpoint"))
          const W2 = yield* spawnAway(worker("undefined"))
          const C = yield* home.spawn(client)
          const first = yield* Session.run(Job, { roles: { C, W: W1 }, stepTimeout: "10 seconds" })
          const second = yield* Session.run(Job, { roles: { C, W: W2 }, stepTimeout: "10 seconds" })
          return [first.results, second.results]
        })
      )
      expect(exit).toStrictEqual(
        Exit.succeed([
          { C: 14, W: undefined },
          { C: 14, W: undefined }
        ])
      )
    }, 20_000)

    it("a result that cannot cross the wire aborts the session with a typed error naming the role", async () => {
      const exit = await run(topology.places, ({ spawnAway, home }) =>
        Effect.gen(function* () {
          const W = yield* spawnAway(worker("bigint"))
          const C = yield* home.spawn(client)
          return yield* Session.run(Job, { roles: { C, W }, stepTimeout: "10 seconds" })
        })
      )
      if (topology.name === "one actor system") {
        // nothing crosses a wire: the result is the bigint
        expect(Exit.isSuccess(exit) && exit.value.results).toStrictEqual({ C: 14, W: 10n })
        return
      }
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(Session.SessionAborted)
      const cause = (error as Session.SessionAborted).cause
      expect(cause._tag).toBe("ParticipantFailed")
      expect(cause).toMatchObject({ role: "W", protocol: "Job" })
      expect(cause.message).toContain("its result cannot be sent to the session's coordinator")
      expect(cause.message).toContain("BigInt")
    }, 20_000)

    it("a restartable role failing in 6 sessions at once costs one restart, and every session completes", async () => {
      const sessions = 6
      const calls = new Map<number, number>() // runs of each session's `once` effect, by job
      const resumes: Array<number> = []
      const exit = await run(topology.places, ({ spawnAway, home, away }) =>
        Effect.gen(function* () {
          const events = yield* away.subscribe
          const restarts: Array<string> = []
          yield* Stream.runForEach(events, (e) =>
            Effect.sync(() => e._tag === "Restarted" && restarts.push(e.path))
          ).pipe(Effect.forkScoped)
          // every session's model call fails once (a 503), all at the same moment
          const allWaiting = yield* Deferred.make<void>()
          let waiting = 0
          const model = (job: number) =>
            Effect.gen(function* () {
              const n = (calls.get(job) ?? 0) + 1
              calls.set(job, n)
              // the model answers after a while: a second restart would catch the resumed sessions' calls in flight
              if (n > 1) return yield* Effect.as(Effect.sleep("50 millis"), job * job)
              if (++waiting === sessions) yield* Deferred.succeed(allWaiting, undefined)
              yield* Deferred.await(allWaiting)
              return yield* Effect.fail(new Error("503 Service Unavailable"))
            })
          const W = yield* spawnAway(
            Session.role(Jobs, "W", (ep, session) =>
              Effect.gen(function* () {
                const j1 = yield* ep.receive()
                if (session.resumed) resumes.push(j1.payload)
                const r1 = yield* session.once(model(j1.payload))
                const j2 = yield* j1.next.receive()
                const e1 = yield* j2.next.send("C", "result", r1)
                yield* (yield* e1.send("C", "result", j2.payload)).close()
                return j1.payload
              })
            )
          )
          const C = yield* home.spawn(
            Session.role(Jobs, "C", (ep) =>
              Effect.gen(function* () {
                const id = Number((yield* Session.currentRole)!.session.slice(4))
                const sent = yield* (yield* ep.send("W", "job", id)).send("W", "job", -id)
                const r1 = yield* sent.receive()
                yield* (yield* r1.next.receive()).next.close()
                return r1.payload
              })
            )
          )
          const done = yield* Effect.forEach(
            Array.from({ length: sessions }, (_, i) => i + 1),
            (i) => Session.run(Jobs, { roles: { C, W }, id: `job-${i}`, stepTimeout: "10 seconds" }),
            { concurrency: "unbounded" }
          )
          return { results: done.map((d) => d.results), restarts }
        })
      )
      expect(exit._tag).toBe("Success")
      const { results, restarts } = (exit as Exit.Success<{ results: unknown; restarts: Array<string> }>).value
      expect(results).toStrictEqual(Array.from({ length: sessions }, (_, i) => ({ C: (i + 1) ** 2, W: i + 1 })))
      expect(restarts).toHaveLength(1)
      // each session resumed once, and its `once` effect ran once more (twice in all)
      expect(resumes.sort()).toStrictEqual([1, 2, 3, 4, 5, 6])
      expect([...calls.values()]).toStrictEqual(Array.from({ length: sessions }, () => 2))
    }, 30_000)

    for (const when of ["queued when its receiver ends", "arriving after its receiver ended"] as const) {
      it(`a message no role takes is a violation naming it (${when})`, async () => {
        const exit = await run(topology.places, ({ spawnAway, home }) =>
          Effect.gen(function* () {
            const B = yield* spawnAway(
              Session.role(Greeting, "B", (ep) =>
                Effect.gen(function* () {
                  const hello = yield* ep.receive()
                  yield* (yield* hello.next.send("A", "bye")).close()
                  return hello.payload
                })
              )
            )
            const peer = uncheckedPeer(Greeting, "A", (send, done, receive) =>
              Effect.gen(function* () {
                yield* send("B", "hello", "hi")
                if (when === "queued when its receiver ends") yield* send("B", "hello", "again")
                yield* receive // B's bye: B ends now
                if (when === "arriving after its receiver ended") yield* send("B", "hello", "again")
                yield* done("A's result")
              })
            )
            const A = yield* home.spawn(peer.behavior)
            return yield* Session.run(Greeting, { roles: { A, B }, stepTimeout: "10 seconds" })
          })
        )
        const error = failureOf(exit)
        expect(error).toBeInstanceOf(Session.SessionAborted)
        const cause = (error as Session.SessionAborted).cause
        expect(cause).toMatchObject({ _tag: "ProtocolViolation", role: "B", got: "A?hello", reason: "ended" })
        expect(cause.message).toContain("message 2 from A")
      }, 20_000)
    }
  })
}
