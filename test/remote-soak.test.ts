/**
 * A soak of the remote message path: mixed traffic between two nodes (ordered tells, asks, asks that time
 * out on a live node, death watch of short-lived actors, a small mailbox that fills) while the link is cut
 * every half second. Asserts zero loss (every tell handled once, in order), no leftovers on either node, and
 * a flat heap. `TROUPE_SOAK=1` runs it for 10 minutes (`TROUPE_SOAK_MINUTES` to change); by default it runs
 * for 3 seconds.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Mailbox, Protocol } from "@troupe/runtime"
import { FailureDetector } from "@troupe/transport"
import { Effect, Fiber, Schema } from "effect"
import { heapUsed } from "./support/heap.ts"
import { inProcess } from "./support/topology.ts"

const soak = process.env.TROUPE_SOAK === "1"
const millis = soak ? Number(process.env.TROUPE_SOAK_MINUTES ?? "10") * 60_000 : 3000

const Sink = Protocol.make("Sink", {
  Item: { n: Schema.Number },
  Seen: Protocol.request({}, { success: Schema.Struct({ count: Schema.Number, outOfOrder: Schema.Number }) }),
  Slow: Protocol.request({ millis: Schema.Number }, { success: Schema.Number }),
  Stop: {}
})

interface State {
  readonly next: number
  readonly count: number
  readonly outOfOrder: number
}

const sink = Behavior.make(Sink, {
  initial: { next: 1, count: 0, outOfOrder: 0 } as State,
  receive: {
    Item: (s, { n }) =>
      Effect.succeed({ next: n + 1, count: s.count + 1, outOfOrder: s.outOfOrder + (n === s.next ? 0 : 1) }),
    Seen: (s) => Effect.succeed({ state: s, reply: { count: s.count, outOfOrder: s.outOfOrder } }),
    Slow: (s, { millis }) => Effect.as(Effect.sleep(millis), { state: s, reply: millis }),
    Stop: (s, _, ctx) => Effect.as(ctx.stopSelf, s)
  }
})

describe("remote soak", () => {
  it.live(
    `mixed traffic with link cuts for ${millis / 1000} s: nothing lost, nothing left over, a flat heap`,
    () =>
      Effect.gen(function* () {
        // cuts break connections, not the link: a tolerant detector keeps a loaded machine from declaring
        // the peer down (that would be a different test: what is lost when a node goes down)
        const [alice, bob] = yield* inProcess.start(
          ["alice", "bob"],
          {},
          {
            failureDetector: FailureDetector.timeout("10 seconds")
          }
        )
        const network = alice!.network!
        yield* alice!.system.spawn(sink, { name: "ordered", mailbox: Mailbox.bounded(64) })
        yield* alice!.system.spawn(sink, { name: "slow", mailbox: Mailbox.bounded(1024) })
        const ordered = yield* bob!.system.lookup("/user/ordered", Sink, { node: "alice" })
        const slow = yield* bob!.system.lookup("/user/slow", Sink, { node: "alice" })
        const end = Date.now() + millis
        let sent = 0
        let watched = 0
        let timedOut = 0
        const tells = Effect.gen(function* () {
          while (Date.now() < end) {
            for (let i = 0; i < 200; i++) yield* ordered.tell(Sink.Item({ n: ++sent }))
            yield* Effect.sleep("1 millis")
          }
        })
        const asks = Effect.gen(function* () {
          while (Date.now() < end) {
            yield* Effect.orDie(ordered.ask(Sink.Seen(), { timeout: "10 seconds" }))
            const exit = yield* Effect.exit(slow.ask(Sink.Slow({ millis: 50 }), { timeout: "10 millis" }))
            if (exit._tag === "Failure") timedOut++
          }
        })
        const watches = Effect.gen(function* () {
          while (Date.now() < end) {
            const name = `short-${watched++}`
            const local = yield* alice!.system.spawn(sink, { name })
            const remote = yield* bob!.system.lookup(`/user/${name}`, Sink, { node: "alice" })
            const watching = yield* Effect.forkChild(bob!.system.awaitTermination(remote))
            yield* local.tell(Sink.Stop())
            yield* Fiber.join(watching)
          }
        })
        const cuts = Effect.gen(function* () {
          while (Date.now() < end) {
            yield* Effect.sleep("500 millis")
            yield* network.drop("alice", "bob")
          }
        })
        const sample = Effect.gen(function* () {
          yield* Effect.sleep(Math.min(millis / 4, 60_000))
          return yield* heapUsed
        })
        const traffic = yield* Effect.forkChild(
          Effect.all([tells, asks, watches, cuts], { concurrency: "unbounded", discard: true })
        )
        const early = yield* sample
        yield* Fiber.join(traffic)
        const seen = yield* Effect.orDie(ordered.ask(Sink.Seen(), { timeout: "30 seconds" }))
        assert.strictEqual(seen.count, sent, "every tell handled once")
        assert.strictEqual(seen.outOfOrder, 0, "in order")
        assert.isAbove(timedOut, 0)
        const callee = ActorSystem.internal(alice!.system).remoting!
        const caller = ActorSystem.internal(bob!.system).remoting!
        // the last timed-out asks' cancellations may still be on their way
        for (let i = 0; i < 200 && callee.pendingInbound > 0; i++) yield* Effect.sleep("10 millis")
        assert.strictEqual(callee.pendingInbound, 0)
        assert.strictEqual(callee.watchedHere, 0)
        assert.strictEqual(caller.watching, 0)
        assert.strictEqual(caller.asks.size, 0)
        const late = yield* heapUsed
        if (soak) assert.isBelow(late - early, 2 * 1024 * 1024, `heap grew by ${late - early} bytes`)
      }),
    millis + 60_000
  )
})
