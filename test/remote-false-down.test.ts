/**
 * A live node declared down (issue 9, "nothing lost"): two actor systems in their own processes, on WebSockets
 * over loopback; `a` tells numbered messages to `b`'s sink while one of them stalls its event loop for longer than
 * the peer's failure detector waits. The peer declares the stalled (live) node down, and the two link again with
 * the same incarnations. A false verdict may cost messages, but never silently: every number `a` sent is either
 * received exactly once by `b` or a dead letter (`unreachable`, naming the message) on `a`, and none arrives twice.
 */
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { Command, Event, NodeSpec } from "./support/actor-node.ts"
import * as Cluster from "./support/cluster.ts"
import { accounting } from "./support/delivery.ts"

/**
 * The default suite runs one stall of each side (the receiver's with its mailbox full), with 2 s of tells;
 * `TROUPE_LONG=1` (run by `.ci/run` after the default suite, README "Tests") runs the other two, and 4 s of tells.
 */
const long = process.env.TROUPE_LONG === "1"
const SCRIPT = fileURLToPath(new URL("./support/actor-node.ts", import.meta.url))
/**
 * A link holds at most `resendCapacity` unacknowledged tells, so a verdict makes at most that many dead letters at once
 * (fewer than the system's event stream keeps for a slow subscriber).
 */
const SPEC = { secret: "a false down test secret", heartbeatMs: 100, downAfterMs: 500, resendCapacity: 1024 }
/** Longer than the peer's detector waits, by a second (its own lag, forgiven, may take some of the stall). */
const STALL_MS = 1500
/** Tells, paced: 2 s of them (more than the stall and its verdict), 4 s with `TROUPE_LONG=1`. */
const COUNT = long ? 20000 : 10000
const PER_SECOND = 5000
type Node = Cluster.Child<Event, Command>

const spawn = (node: string, sinkMailbox?: number) => {
  const spec: NodeSpec = { ...SPEC, node, ...(sinkMailbox === undefined ? {} : { sinkMailbox }) }
  return Cluster.spawn<Event, Command>(spec, SCRIPT)
}
const reportOf = (node: Node) =>
  Effect.flatMap(node.request({ cmd: "report" }), (event) =>
    event.event === "report" ? Effect.succeed(event.report) : Effect.die(new Error("no report"))
  )
/** How many tells `to` received from `from` so far. */
const receivedBy = (to: Node, from: Node) =>
  Effect.map(reportOf(to), (report) => report.received[`${from.name}/${from.incarnation}`]?.count ?? 0)
const ups = (node: Node, of: Node) =>
  node.events.filter((e) => e.event === "peer-up" && e.node === of.name && e.incarnation === of.incarnation).length

/** `a` tells `b` while `stalled` stalls; its peer declares it down; they link again; then the books. */
const falseDown = (stalled: "a" | "b", sinkMailbox?: number) =>
  Effect.gen(function* () {
    const [a, b] = yield* Effect.all([spawn("a"), spawn("b", sinkMailbox)], { concurrency: "unbounded" })
    yield* a.request({ cmd: "connect", url: b.url })
    const sending = yield* Effect.forkChild(a.request({ cmd: "send", to: "b", count: COUNT, perSecond: PER_SECOND }))
    // tells flow before the stall: wait until b has some
    while ((yield* receivedBy(b, a)) < COUNT / 10) yield* Effect.sleep(20)
    const [sleeper, judge] = stalled === "a" ? [a, b] : [b, a]
    yield* sleeper.request({ cmd: "stall", ms: STALL_MS })
    // the judge declared the live sleeper down during the stall; they link again (same incarnations)
    yield* judge.waitFor((e) => e.event === "peer-down" && e.node === sleeper.name)
    yield* Effect.gen(function* () {
      while (ups(judge, sleeper) < 2) yield* judge.waitFor((e) => e.event === "peer-up" && ups(judge, sleeper) >= 2)
    })
    yield* Fiber.join(sending)
    yield* Effect.forEach([a, b], (node) => node.request({ cmd: "drain" }), { concurrency: "unbounded" })
    const [ra, rb] = [yield* reportOf(a), yield* reportOf(b)]
    const { lost, duplicates, books, detail } = accounting(ra, "a", rb, "b")
    const logs = `--- a:\n${a.stderr().slice(-2500)}\n--- b:\n${b.stderr().slice(-2500)}`
    assert.strictEqual(duplicates, 0, `received twice: ${books}\n${logs}`)
    assert.deepStrictEqual(
      lost.slice(0, 20),
      [],
      `${lost.length} tells neither received nor dead letters: ${books}\n${detail}\n${logs}`
    )
    for (const node of [a, b]) assert.strictEqual(yield* node.stop, 0)
  })

describe("a live node declared down and linked again", () => {
  it.live(
    "the sender stalls: the receiver declares it down; every tell arrives once or is a dead letter",
    () => falseDown("a"),
    60_000
  )
  if (long) {
    it.live(
      "the receiver stalls: the sender declares it down; every tell arrives once or is a dead letter",
      () => falseDown("b"),
      60_000
    )
    // b's sink takes 8 messages at a time: when b wakes, what it reads in a burst is parked (and a paused)
    it.live(
      "the sender stalls, the receiver's mailbox is full: every tell arrives once or is a dead letter",
      () => falseDown("a", 8),
      60_000
    )
  }
  it.live(
    "the receiver stalls with its mailbox full: every tell arrives once or is a dead letter",
    () => falseDown("b", 8),
    60_000
  )
})
