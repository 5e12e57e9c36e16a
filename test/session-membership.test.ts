/**
 * Sessions across a star of nodes over real WebSockets (issue 9, scenario 13): two leaves join a hub
 * and nothing else. When the leaves listen, they learn each other from the hub and link, so a session
 * whose roles are on the two leaves runs. When a leaf cannot be dialed (it only dials), the session
 * fails at once with `SessionNodesApart`, naming both nodes.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { FailureDetector, WebSocket } from "@troupe/transport"
import { Effect, Fiber, Option, Schema } from "effect"

const secret = "a membership test secret"

const PingPong = Choreography.makeUnsafe("PingPong", ["L", "R"], ($) => [
  $.message("L", "R", "ping", Schema.Number),
  $.message("R", "L", "pong", Schema.Number)
])

const left = Session.role(PingPong, "L", (ep) =>
  Effect.gen(function* () {
    const pong = yield* (yield* ep.send("R", "ping", 20)).receive()
    yield* pong.next.close()
    return pong.payload
  })
)
const right = Session.role(PingPong, "R", (ep) =>
  Effect.gen(function* () {
    const ping = yield* ep.receive()
    yield* (yield* ping.next.send("L", "pong", ping.payload + 1)).close()
    return "served"
  })
)

/** An actor system on the WebSocket transport, listening on a free port or only dialing. */
const node = (name: string, listen: boolean) =>
  ActorSystem.make({
    name,
    transport: WebSocket.layer({
      node: name,
      secret,
      heartbeatInterval: "100 millis",
      failureDetector: FailureDetector.timeout("2 seconds"),
      ...(listen ? { listen: { port: 0 } } : {})
    })
  })

/** A hub, and two leaves that dial only the hub, with a role of PingPong each. */
const star = (leavesListen: boolean) =>
  Effect.gen(function* () {
    const hub = yield* node("hub", true)
    const l = yield* node("left", leavesListen)
    const r = yield* node("right", leavesListen)
    yield* l.spawn(left, { name: "l" })
    yield* r.spawn(right, { name: "r" })
    const url = Option.getOrThrow(hub.address)
    yield* l.connect(url)
    yield* r.connect(url)
    const L = yield* hub.lookup("/user/l", Session.protocolOf(PingPong, "L"), { node: "left" })
    const R = yield* hub.lookup("/user/r", Session.protocolOf(PingPong, "R"), { node: "right" })
    return { hub, l, r, L, R }
  })

describe("sessions across a star of nodes", () => {
  it.live("leaves that joined only the hub link to each other, and a session across them runs", () =>
    Effect.gen(function* () {
      const { hub, l, L, R } = yield* star(true)
      // the leaves learned each other from the hub
      while (!(yield* l.nodes).includes("right")) yield* Effect.sleep(10)
      const done = yield* Session.run(PingPong, { roles: { L, R } }).pipe(
        Effect.provideService(ActorSystem.ActorSystem, hub)
      )
      assert.deepStrictEqual(done.results, { L: 21, R: "served" })
    })
  )

  it.live("a node that joins while sessions run links to every member; no session is disturbed", () =>
    Effect.gen(function* () {
      const { hub, l, L, R } = yield* star(true)
      while (!(yield* l.nodes).includes("right")) yield* Effect.sleep(10)
      const run = Session.run(PingPong, { roles: { L, R } }).pipe(Effect.provideService(ActorSystem.ActorSystem, hub))
      const sessions = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 50 }), () => run, { concurrency: 5 })
      )
      const late = yield* node("late", true)
      yield* late.connect(Option.getOrThrow(hub.address))
      while ((yield* late.nodes).length < 3) yield* Effect.sleep(10)
      assert.deepStrictEqual([...(yield* late.nodes)].sort(), ["hub", "left", "right"])
      const done = yield* Fiber.join(sessions)
      assert.strictEqual(done.filter((d) => d.results.L === 21 && d.results.R === "served").length, 50)
    })
  )

  it.live("leaves that cannot be dialed: the session fails at once, naming both nodes", () =>
    Effect.gen(function* () {
      const { hub, l, L, R } = yield* star(false)
      const started = Date.now()
      const aborted = yield* Effect.flip(
        Session.run(PingPong, { roles: { L, R } }).pipe(Effect.provideService(ActorSystem.ActorSystem, hub))
      )
      assert.isBelow(Date.now() - started, 2_000)
      assert.strictEqual(aborted._tag, "SessionAborted")
      const cause = (aborted as Session.SessionAborted).cause
      assert.instanceOf(cause, Session.SessionNodesApart, cause.message)
      const apart = cause as Session.SessionNodesApart
      assert.deepStrictEqual(
        [apart.node, apart.peerNode].sort(),
        ["left", "right"],
        `expected both leaves named: ${apart.message}`
      )
      assert.match(apart.message, /has no link to node/)
      assert.deepStrictEqual(yield* l.nodes, ["hub"])
    })
  )
})
