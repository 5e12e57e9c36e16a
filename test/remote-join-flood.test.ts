/**
 * A peer with the secret that may reach a session participant (an agent the policy lets peers reach) sends it
 * `Join` requests for sessions it makes up, each naming a coordinator on its own node, and never begins nor ends
 * them. The participant kept each session (a `RoleSession`) and a death watch of its coordinator until the session
 * ended or the peer went down: a peer grew this node's memory without bound (20,000 Joins: 20,000 sessions and
 * watches kept, +25.5 MB of heap after GC). A participant now holds at most 4,096 sessions not begun per coordinator
 * node (or `maxJoiningSessions` if larger: an honest coordinator node never has more joining at once); a Join past
 * that is answered without taking the session, with a warning a second.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Cause, Effect, Exit, References, Schema } from "effect"
import { heapUsed } from "./support/heap.ts"
import * as PeerFlood from "./support/peer-flood.ts"

const SECRET = "a join flood test secret"
const JOINS = 20_000
const PER_FRAME = 200

const Job = Choreography.makeUnsafe("Job", ["C", "W"], ($) => [
  $.message("C", "W", "job", Schema.Number),
  $.message("W", "C", "result", Schema.Number)
])

const worker = Session.role(Job, "W", (ep) =>
  Effect.gen(function* () {
    const job = yield* ep.receive()
    return yield* job.next.send("C", "result", job.payload * 2)
  })
)

const client = Session.role(Job, "C", (ep) =>
  Effect.gen(function* () {
    const result = yield* (yield* ep.send("W", "job", 21)).receive()
    yield* result.next.close()
    return result.payload
  })
)

/** The Join of made-up session `n`, its coordinator named on `node` (the raw peer's own). */
const madeUpJoin = (node: string, n: number) => ({
  kind: "ask",
  to: { node: "target", path: "/user/w" },
  correlationId: `join-${n}`,
  payload: {
    _tag: "Join",
    session: `made-up-${node}-${n}`,
    roles: {
      C: { node, path: "/user/c", protocol: "Job/C" },
      W: { node: "target", path: "/user/w", protocol: "Job/W" }
    },
    coordinator: { node, path: `/user/session-${n}`, protocol: "Session(Job)" },
    traceLimit: 100
  }
})

describe("a peer joins a participant to sessions it makes up", () => {
  it.live(
    "the participant keeps at most 4,096 sessions not begun per coordinator node (was: one per Join, until the peer goes down)",
    () =>
      Effect.gen(function* () {
        const { system, join } = yield* PeerFlood.floodTarget(SECRET)
        yield* system.spawn(worker, { name: "w" })
        const peer = yield* join("joiner")
        const before = yield* heapUsed
        yield* Effect.promise(() =>
          peer.send(
            JOINS,
            (n) => ({
              kind: "ask",
              to: { node: "target", path: "/user/w" },
              correlationId: `join-${n}`,
              payload: {
                _tag: "Join",
                session: `made-up-${n}`,
                roles: {
                  C: { node: "joiner", path: "/user/c", protocol: "Job/C" },
                  W: { node: "target", path: "/user/w", protocol: "Job/W" }
                },
                coordinator: { node: "joiner", path: `/user/session-${n}`, protocol: "Session(Job)" },
                traceLimit: 100
              }
            }),
            PER_FRAME
          )
        )
        const after = yield* heapUsed
        const watching = ActorSystem.internal(system).remoting!.watching
        assert.isBelow(
          after - before,
          8 * 1024 * 1024,
          `the heap grew by ${after - before} bytes (${watching} watches)`
        )
        assert.strictEqual(watching, 4_096, `${watching} coordinators watched for ${JOINS} Joins`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )

  it.live(
    "peers under many node ids: the participant's node keeps at most maxJoinsNotBegun, and an honest session past it fails at once, typed (was: kept per id; a refused Join answered an untyped false and the session hung)",
    () =>
      Effect.gen(function* () {
        const { system, join, url } = yield* PeerFlood.floodTarget(SECRET, {
          system: { remoteAccess: { maxJoinsNotBegun: 600 } }
        })
        yield* system.spawn(worker, { name: "w" })
        for (const node of ["joiner-1", "joiner-2", "joiner-3"]) {
          const peer = yield* join(node)
          yield* Effect.promise(() => peer.send(300, (n) => madeUpJoin(node, n), PER_FRAME))
        }
        const watching = ActorSystem.internal(system).remoting!.watching
        assert.strictEqual(watching, 600, `${watching} coordinators watched for 900 Joins from 3 node ids`)

        // an honest node's session with the participant: refused at once, saying where and why
        const honest = yield* ActorSystem.make({ name: "honest", askTimeout: "60 seconds" }).pipe(
          Effect.provideService(
            Transport.Transport,
            yield* WebSocket.make({ node: "honest", secret: SECRET, listen: { port: 0, host: "127.0.0.1" } })
          )
        )
        yield* honest.connect(url)
        const c = yield* honest.spawn(client, { name: "c" })
        const w = yield* honest.lookup("/user/w", Session.protocolOf(Job, "W"), { node: "target" })
        const exit = yield* Session.run(Job, { roles: { C: c, W: w } }).pipe(
          Effect.provideService(ActorSystem.ActorSystem, honest),
          Effect.timeoutOption("20 seconds"),
          Effect.exit
        )
        assert.isTrue(Exit.isFailure(exit), `the session ended ${String(exit)} (none: still running after 20 s)`)
        const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as Session.SessionAborted
        assert.strictEqual(error._tag, "SessionAborted", String(error))
        assert.strictEqual(error.cause._tag, "SessionJoinRefused", error.message)
        assert.deepInclude(error.cause, { role: "W", path: "/user/w", node: "target", scope: "all", held: 600 })
        assert.include(error.message, "too many sessions not begun")
        assert.include(error.message, "remoteAccess.maxJoinsNotBegun")
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
