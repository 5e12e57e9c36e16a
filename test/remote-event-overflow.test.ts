/**
 * One down verdict makes more dead letters at once than the system's event stream keeps for a subscriber (4,096):
 * two actor systems in their own processes, on WebSockets over loopback; `a` tells `b`'s sink numbered messages
 * until its link to `b` holds a full resend buffer unacknowledged (8,192: `b` is stalled, then SIGKILLed), and `a`
 * declares `b` down. Its subscriber cannot take 8,192 dead letters published in one go: it keeps the latest ones and
 * is told what it missed, by an `EventsMissed` event (how many events, how many dead letters), so that what it saw
 * and what it was told it missed add up to `system.deadLetters`.
 */
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Command, Event, NodeSpec, Report } from "./support/actor-node.ts"
import * as Cluster from "./support/cluster.ts"

const SCRIPT = fileURLToPath(new URL("./support/actor-node.ts", import.meta.url))
/** The links' default resend buffer, and the stream's buffer per subscriber. */
const RESEND_CAPACITY = 8192
const STREAM_BUFFER = 4096
/** Long enough for `a` to fill its resend buffer on a loaded machine before it judges `b`. */
const SPEC = { secret: "an event overflow test secret", heartbeatMs: 200, downAfterMs: 10_000 }
type Node = Cluster.Child<Event, Command>

const spawn = (spec: NodeSpec) => Cluster.spawn<Event, Command>(spec, SCRIPT)

const reportOf = (node: Node) =>
  Effect.flatMap(node.request({ cmd: "report" }), (event) =>
    event.event === "report" ? Effect.succeed(event.report) : Effect.die(new Error("no report"))
  )
const linkTo = (node: Node, peer: Node) =>
  Effect.flatMap(node.request({ cmd: "links" }), (event) =>
    event.event === "links"
      ? Effect.succeed(event.links.find((link) => link.node === peer.name))
      : Effect.die(new Error("no links"))
  )

describe("the system's event stream when one verdict makes more dead letters than it keeps", () => {
  it.live(
    "a subscriber is told how many events and dead letters it missed; with what it saw they add up to system.deadLetters",
    () =>
      Effect.gen(function* () {
        const [a, b] = yield* Effect.all(
          [
            spawn({ ...SPEC, node: "a", slowSubscriber: true }),
            // a sink mailbox that never fills: b does not ask a to pause its sends
            spawn({ ...SPEC, node: "b", sinkMailbox: 1 << 20 })
          ],
          { concurrency: "unbounded" }
        )
        yield* a.request({ cmd: "connect", url: b.url })
        // unpaced tells; the loop waits for room once the resend buffer is full, and ends with the verdict
        yield* Effect.forkChild(Effect.ignore(a.request({ cmd: "send", to: "b", count: 3 * RESEND_CAPACITY })))
        while (((yield* reportOf(b)).received[`a/${a.incarnation}`]?.count ?? 0) < 100) yield* Effect.sleep(20)
        // b stops reading (and acknowledging); a fills its resend buffer
        yield* Effect.forkChild(Effect.ignore(b.request({ cmd: "stall", ms: 120_000 })))
        const seen: Array<string> = []
        for (;;) {
          const link = yield* linkTo(a, b)
          if (link === undefined) {
            const sent = (yield* reportOf(a)).sent
            assert.fail(
              `a judged b before its resend buffer to b was full: ${seen.slice(-20).join(" ")}; sent ${JSON.stringify(sent)}\n${a.stderr().slice(-1500)}`
            )
          }
          seen.push(`${link.unacknowledged}/${link.waiting}`)
          if (link.unacknowledged >= RESEND_CAPACITY) break
          yield* Effect.sleep(50)
        }
        yield* b.kill
        yield* a.waitFor((e) => e.event === "peer-down" && e.node === "b")
        // the slow subscriber takes what was published: wait until its books stop changing
        const total = (report: Report) => report.slow!.deadLettersSeen + report.slow!.missed.deadLetters
        let report: Report = yield* reportOf(a)
        for (let previous = -1; total(report) !== previous; ) {
          previous = total(report)
          yield* Effect.sleep(500)
          report = yield* reportOf(a)
        }
        const slow = report.slow!
        const books = `dead letters ${report.deadLetters}; the slow subscriber saw ${slow.deadLettersSeen}, was told it missed ${JSON.stringify(
          slow.missed
        )}; a quick one saw ${report.deadLettersSeen}, was told it missed ${JSON.stringify(report.missed)}`
        assert.isAtLeast(report.deadLetters, RESEND_CAPACITY, books)
        assert.isAtMost(slow.deadLettersSeen, STREAM_BUFFER, books)
        assert.isAbove(slow.missed.deadLetters, 0, `the subscriber was not told what it missed: ${books}`)
        assert.isAtLeast(slow.missed.events, slow.missed.deadLetters, books)
        assert.strictEqual(slow.deadLettersSeen + slow.missed.deadLetters, report.deadLetters, books)
        // what the quick subscriber (the test's books) saw and missed adds up too
        assert.strictEqual(report.deadLettersSeen + report.missed.deadLetters, report.deadLetters, books)
        console.info(`event overflow: ${books}`)
        assert.strictEqual(yield* a.stop, 0)
      }),
    120_000
  )
})
