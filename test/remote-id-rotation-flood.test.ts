/**
 * A node id is whatever a peer with the secret says it is: one process can link under many ids. The bounds a node
 * keeps over all peers (listings, sessions not begun, sessions held) were shared fairly per node id, so a process
 * linked under 50 ids took 50 shares and an honest node got a 51st of each (a bound of 5,000 listings: ~98 for the
 * honest node). They are now shared by the address a peer's link came from first, then by node id within it: a
 * flooder's 50 ids on one address hold one address's share together. And sessions begun were not bounded at all: a
 * peer that Joins a participant to sessions it makes up and begins them holds their roles for as long as it lives
 * (`remoteAccess.maxSessions` now bounds them, shared the same way).
 *
 * The flooder is another process (test/support/id-flooder.ts) dialing from 127.0.0.1 under 50 node ids; the honest
 * node listens on 127.0.0.2 and the target dials it, so its link has an address of its own.
 */
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Choreography, Protocol, Receptionist, Session } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Effect, Exit, Option, References, Schedule, Schema } from "effect"
import * as Child from "./support/child.ts"
import { heapUsed } from "./support/heap.ts"
import type { FlooderConfig } from "./support/id-flooder.ts"
import * as PeerFlood from "./support/peer-flood.ts"

const SECRET = "an id rotation flood test secret"
const FLOODER = fileURLToPath(new URL("./support/id-flooder.ts", import.meta.url))
const IDS = 50
afterAll(() => Child.stopAll())

const Echo = Protocol.make("Echo", { Ping: { text: Schema.String } })
const Echoes = Receptionist.key("echoes", Echo)

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

/** The flooder process, linked to the node at `url` under {@link IDS} ids once everything it sent was taken. */
const flood = (url: string, config: Omit<FlooderConfig, "url" | "secret" | "ids"> & { readonly ids?: number }) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const child = Child.start([FLOODER, JSON.stringify({ url, secret: SECRET, ids: IDS, ...config })])
      await child.line(/"flooded"/)
      return child
    }),
    (child) => Effect.sync(() => child.process.kill("SIGKILL"))
  )

/** An honest node listening on 127.0.0.2 (an address of its own), linked to the target by the target's dial. */
const honestNode = (target: ActorSystem.ActorSystemService) =>
  Effect.gen(function* () {
    const transport = yield* WebSocket.make({ node: "honest", secret: SECRET, listen: { port: 0, host: "127.0.0.2" } })
    const honest = yield* ActorSystem.make({ name: "honest", askTimeout: "60 seconds" }).pipe(
      Effect.provideService(Transport.Transport, transport)
    )
    yield* target.connect(Option.getOrThrow(transport.address))
    return honest
  })

/** Runs `count` sessions of the honest node with the target's participant at once: how many completed. */
const honestSessions = (honest: ActorSystem.ActorSystemService, count: number) =>
  Effect.gen(function* () {
    const c = yield* honest.spawn(client, { name: "c" })
    const w = yield* honest.lookup("/user/w", Session.protocolOf(Job, "W"), { node: "target" })
    const exits = yield* Effect.forEach(
      Array.from({ length: count }, (_, n) => n),
      () => Effect.exit(Session.run(Job, { roles: { C: c, W: w } })),
      { concurrency: "unbounded" }
    ).pipe(Effect.provideService(ActorSystem.ActorSystem, honest))
    const failed = exits.filter(Exit.isFailure)
    return { completed: exits.length - failed.length, firstFailure: failed[0] === undefined ? "" : String(failed[0]) }
  })

describe("one process links under 50 node ids from one address", () => {
  it.live(
    "listings: the honest node on an address of its own keeps its share (1,000 of maxListings 5,000; was: ~98, a 51st)",
    () =>
      Effect.gen(function* () {
        const { system, url } = yield* PeerFlood.floodTarget(SECRET, {
          system: { remoteAccess: { register: ["echoes"], maxListings: 5_000 } }
        })
        const onTarget = Effect.provideService(ActorSystem.ActorSystem, system)
        const before = yield* heapUsed
        yield* flood(url, { listings: 200 })
        assert.strictEqual((yield* onTarget(Receptionist.find(Echoes))).length, 5_000)

        const honest = yield* honestNode(system)
        const echo = Behavior.make(Echo, { initial: null, receive: { Ping: (state) => Effect.succeed(state) } })
        for (let n = 0; n < 1_000; n++) {
          const ref = yield* honest.spawn(echo, { name: `echo-${n}` })
          yield* Receptionist.register(Echoes, ref).pipe(Effect.provideService(ActorSystem.ActorSystem, honest))
        }
        const honestListed = Effect.map(
          onTarget(Receptionist.find(Echoes)),
          (refs) => refs.filter((ref) => ref.path.startsWith("/user/echo-")).length
        )
        const listed = yield* honestListed.pipe(
          Effect.repeat({ until: (n) => n === 1_000, schedule: Schedule.spaced("50 millis"), times: 600 }),
          Effect.timeoutOption("30 seconds")
        )
        assert.deepStrictEqual(listed, Option.some(1_000), `the honest node has ${yield* honestListed} listed`)
        assert.strictEqual((yield* onTarget(Receptionist.find(Echoes))).length, 5_000)
        const after = yield* heapUsed
        assert.isBelow(after - before, 24 * 1024 * 1024, `the heap grew by ${after - before} bytes`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    180_000
  )

  it.live(
    "sessions not begun: 50 honest sessions at once all run beside the flooder's (maxJoinsNotBegun 600; was: the honest node's share a 51st, ~11)",
    () =>
      Effect.gen(function* () {
        const { system, url } = yield* PeerFlood.floodTarget(SECRET, {
          system: { remoteAccess: { maxJoinsNotBegun: 600 } }
        })
        yield* system.spawn(worker, { name: "w" })
        yield* flood(url, { joins: 30 })
        assert.strictEqual(ActorSystem.internal(system).remoting!.watching, 600)

        const honest = yield* honestNode(system)
        const result = yield* honestSessions(honest, 50)
        assert.strictEqual(result.completed, 50, result.firstFailure)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    180_000
  )

  it.live(
    "sessions begun and left waiting: the node holds at most maxSessions (2,000 of 5,000 begun; was: all, for as long as the peer lives) and 50 honest sessions at once all run",
    () =>
      Effect.gen(function* () {
        const { system, url } = yield* PeerFlood.floodTarget(SECRET, {
          system: { remoteAccess: { maxSessions: 2_000 } }
        })
        yield* system.spawn(worker, { name: "w" })
        const before = yield* heapUsed
        yield* flood(url, { joins: 100, begin: true })
        const after = yield* heapUsed
        const watching = ActorSystem.internal(system).remoting!.watching
        assert.strictEqual(watching, 2_000, `${watching} sessions held for 5,000 begun`)
        // (about 7.5 KB a session held, a role's program waiting included: 15 MB for 2,000, 37 MB for 5,000)
        assert.isBelow(after - before, 26 * 1024 * 1024, `the heap grew by ${after - before} bytes`)

        const honest = yield* honestNode(system)
        const result = yield* honestSessions(honest, 50)
        assert.strictEqual(result.completed, 50, result.firstFailure)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    180_000
  )

  it.live(
    "refs to senders a peer names: at most 65,536 cached over all its ids (80 ids x 1,024 senders; was: 1,024 per id, 81,920)",
    () =>
      Effect.gen(function* () {
        const { system, url } = yield* PeerFlood.floodTarget(SECRET)
        const echo = Behavior.make(Echo, { initial: null, receive: { Ping: (state) => Effect.succeed(state) } })
        yield* system.spawn(echo, { name: "sink" })
        yield* flood(url, { ids: 80, senders: 1_024 })
        const cached = ActorSystem.internal(system).remoting!.refs.size
        assert.isAtMost(cached, 65_536, `${cached} refs cached`)
        assert.isAtLeast(cached, 65_000, `${cached} refs cached`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    180_000
  )
})
