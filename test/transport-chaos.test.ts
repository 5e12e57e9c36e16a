/**
 * Three node processes on loopback exchange numbered envelopes over real WebSockets while
 * connections are cut at random and one node is SIGKILLed and restarted. Between nodes that are
 * alive, nothing may be lost or delivered twice, and order per pair must hold; from the killed
 * incarnation, what arrived must be an unbroken prefix.
 *
 * Every node dials both others through a TCP proxy in front of each node (so both nodes of a pair
 * dial each other at once), and the test cuts proxied connections at random.
 *
 * Size: TROUPE_CHAOS_MESSAGES (default 6,000, in rounds of 2 s; with TROUPE_LONG=1 12,000, in rounds of 4 s) envelopes
 * in all, split over the six directed pairs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Cluster from "./support/cluster.ts"
import * as TcpProxy from "./support/tcp-proxy.ts"
import type { Report } from "./support/transport-node.ts"

const long = process.env.TROUPE_LONG === "1"
const TOTAL = Number(process.env.TROUPE_CHAOS_MESSAGES ?? (long ? 12_000 : 6_000))
const PER_PAIR = Math.ceil(TOTAL / 6)
/** How long a round of sends lasts (about: the pace below), with cuts all along (every 20-120 ms). */
const ROUND_MS = long ? 4_000 : 2_000
const PER_SECOND = Math.max(500, Math.ceil((PER_PAIR * 1000) / ROUND_MS))
// connectAll off: every link goes through the proxies the test cuts (members would also dial each other directly)
const SPEC = { secret: "a chaos test secret", heartbeatMs: 200, downAfterMs: 4000, connectAll: false }

/** A cut spares connections younger than this: each gets through its handshake (see `TcpProxy.cutAtRandom`). */
const MIN_AGE_MS = 500
/** With TROUPE_NODE_LOG=Debug (the nodes log each cut, attach and dial), a failure shows their whole logs. */
const LOG_TAIL = process.env.TROUPE_NODE_LOG === "Debug" ? 0 : -3000

const names = ["a", "b", "c"] as const
type Name = (typeof names)[number]

const book = (node: string, incarnation: string) => `${node}/${incarnation}`

describe("transport chaos", () => {
  it.live(
    `loses and duplicates nothing between live nodes (${TOTAL} envelopes, cuts, a SIGKILL)`,
    () =>
      Effect.gen(function* () {
        // The four processes start at once: a start is most of the CPU the run takes (on a starved machine 10-30 s
        // each, one after the other they made the whole test's time). c's second incarnation is started here too,
        // and stands by unreached (nobody dials it, it dials nobody) until c is killed: to the others it is c
        // restarted, and no start lies between the kill and the rest of the run.
        const start = (name: Name) => Cluster.spawn({ ...SPEC, node: name })
        const [a, b, c1, c2] = yield* Effect.all([start("a"), start("b"), start("c"), start("c")], {
          concurrency: "unbounded"
        })
        const nodes = new Map<Name, Cluster.Child>([
          ["a", a],
          ["b", b],
          ["c", c1]
        ])
        const proxies = new Map<Name, TcpProxy.TcpProxy>()
        for (const name of names) proxies.set(name, yield* TcpProxy.make(nodes.get(name)!.port))
        const node = (name: Name) => nodes.get(name)!

        // everyone dials everyone through the proxies: each pair dials itself twice at once
        const joinAll = (name: Name) =>
          Effect.forEach(
            names.filter((other) => other !== name),
            (other) => node(name).request({ cmd: "connect", url: proxies.get(other)!.url }),
            { concurrency: "unbounded" }
          )
        yield* Effect.forEach(names, joinAll, { concurrency: "unbounded" })

        const cuts = { count: 0 }
        const chaosFiber = yield* Effect.forkChild(
          TcpProxy.cutAtRandom(Array.from(proxies.values()), cuts, 20, 120, MIN_AGE_MS)
        )
        const sendAll = (from: Name, count: number) =>
          Effect.forEach(
            names.filter((to) => to !== from),
            (to) => node(from).request({ cmd: "send", to, count, perSecond: PER_SECOND }),
            { concurrency: "unbounded" }
          )
        const firstRound = yield* Effect.forkChild(
          Effect.all([sendAll("a", PER_PAIR), sendAll("b", PER_PAIR)], { concurrency: "unbounded" })
        )
        const c1Sends = yield* Effect.forkChild(Effect.ignore(sendAll("c", PER_PAIR)))

        // kill c mid-flight, then bring it back (its standby) where the others reach it
        yield* Effect.sleep((ROUND_MS * 3) / 8)
        yield* c1.kill
        yield* Fiber.join(c1Sends)
        nodes.set("c", c2)
        proxies.get("c")!.retarget(c2.port)
        yield* joinAll("c")
        yield* Effect.all(
          [sendAll("c", PER_PAIR), node("a").request({ cmd: "send", to: "c", count: PER_PAIR, perSecond: PER_SECOND })],
          {
            concurrency: "unbounded"
          }
        )
        yield* Fiber.join(firstRound)
        yield* Fiber.interrupt(chaosFiber)

        // every live node has had all it sent acknowledged: now the books must balance
        yield* Effect.forEach(names, (name) => node(name).request({ cmd: "drain" }), { concurrency: "unbounded" })
        const reports = new Map<Name, Report>()
        for (const name of names) reports.set(name, yield* node(name).report)
        const failures: Array<string> = []
        for (const from of names) {
          for (const to of names) {
            if (from === to) continue
            const sender = reports.get(from)!
            const receiver = reports.get(to)!
            const sent = sender.sent[book(to, receiver.incarnation)] ?? 0
            const got = receiver.received[book(from, sender.incarnation)] ?? {
              count: 0,
              duplicates: 0,
              missing: 0
            }
            if (got.count !== sent || got.duplicates !== 0 || got.missing !== 0) {
              failures.push(`${from} -> ${to}: sent ${sent}, received ${JSON.stringify(got)}`)
            }
          }
        }
        // from the killed incarnation: an unbroken prefix, no duplicates
        for (const to of ["a", "b"] as const) {
          const got = reports.get(to)!.received[book("c", c1.incarnation)]
          if (got !== undefined && (got.duplicates !== 0 || got.missing !== 0)) {
            failures.push(`c (killed) -> ${to}: ${JSON.stringify(got)}`)
          }
        }
        if (failures.length > 0) {
          assert.fail(
            `${failures.join("\n")}\n--- logs ---\n${names.map((n) => `${n}:\n${node(n).stderr().slice(LOG_TAIL)}`).join("\n")}`
          )
        }
        // the run did what it says: traffic flowed, connections were cut, the restart was seen
        const totalReceived = Array.from(reports.values())
          .flatMap((report) => Object.values(report.received))
          .reduce((sum, got) => sum + got.count, 0)
        assert.isAtLeast(totalReceived, 5 * PER_PAIR)
        assert.isAbove(cuts.count, 0)
        const sawRestart = ["a", "b"].every((name) =>
          node(name as Name).events.some(
            (event) => event.event === "peer-down" && event.node === "c" && event.incarnation === c1.incarnation
          )
        )
        assert.isTrue(sawRestart)
        for (const name of names) assert.strictEqual(yield* node(name).stop, 0)
      }),
    120_000
  )
})
