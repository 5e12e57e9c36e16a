/**
 * Endpoints at run time, over a small in-memory port (one FIFO queue per ordered pair of roles).
 * The real session runtime provides the port; here the queues stand in for it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Queue } from "effect"
import { Diagram, Endpoint, Monitor } from "../src/index.ts"
import { network, TwoBuyer } from "./fixtures.ts"

const seller = (ep: Endpoint.For<typeof TwoBuyer, "S">, price: number) =>
  Effect.gen(function* () {
    const title = yield* ep.receive()
    const e1 = yield* title.next.send("A", "quote", price)
    const e2 = yield* e1.send("B", "quote", price)
    const decision = yield* e2.receive()
    yield* decision.next.close()
    return decision.label === "buy" ? `sold ${decision.payload}` : "no sale"
  })

const buyerA = (ep: Endpoint.For<typeof TwoBuyer, "A">, title: string) =>
  Effect.gen(function* () {
    const e1 = yield* ep.send("S", "title", title)
    const quote = yield* e1.receive()
    const e2 = yield* quote.next.send("B", "split", quote.payload / 2)
    const answer = yield* e2.receive()
    if (answer.label === "accept") return yield* (yield* answer.next.send("S", "buy", title)).close()
    return yield* (yield* answer.next.send("S", "cancel")).close()
  })

const buyerB = (ep: Endpoint.For<typeof TwoBuyer, "B">, budget: number) =>
  Effect.gen(function* () {
    const quote = yield* ep.receive()
    const split = yield* quote.next.receive()
    const e = split.payload <= budget ? yield* split.next.send("A", "accept") : yield* split.next.send("A", "reject")
    return yield* e.close()
  })

const join = <R extends "A" | "B" | "S">(port: Endpoint.Port, role: R) =>
  Endpoint.make(TwoBuyer, role, { session: "s-1", port })

/** Runs the three roles of Two-Buyer against each other; answers the seller's result. */
const runTwoBuyer = (net: Effect.Success<ReturnType<typeof network>>, price: number, budget: number) =>
  Effect.all(
    [
      seller(join(net.port("S"), "S"), price),
      buyerA(join(net.port("A"), "A"), "Dune"),
      buyerB(join(net.port("B"), "B"), budget)
    ],
    { concurrency: "unbounded" }
  ).pipe(Effect.map(([sold]) => sold))

describe("Endpoint", () => {
  it.effect("runs Two-Buyer to the end with every role checked", () =>
    Effect.gen(function* () {
      const net = yield* network(TwoBuyer.roles)
      const sold = yield* runTwoBuyer(net, 30, 20)
      assert.strictEqual(sold, "sold Dune")
      assert.deepStrictEqual(net.violations, [])
      assert.deepStrictEqual(
        net.trace.filter((e) => e._tag === "Sent").map((e) => `${e.from}->${e.to}:${e.label}`),
        ["A->S:title", "S->A:quote", "S->B:quote", "A->B:split", "B->A:accept", "A->S:buy"]
      )
      assert.strictEqual(net.trace.filter((e) => e._tag === "Received").length, 6)
    })
  )

  it.effect("takes B's reject path", () =>
    Effect.gen(function* () {
      const net = yield* network(TwoBuyer.roles)
      const sold = yield* runTwoBuyer(net, 300, 20)
      assert.strictEqual(sold, "no sale")
    })
  )

  it.effect("fails with EndpointSpent when an endpoint is used twice", () =>
    Effect.gen(function* () {
      const net = yield* network(TwoBuyer.roles)
      const a = join(net.port("A"), "A")
      const next = yield* a.send("S", "title", "Dune")
      assert.strictEqual(next.state, 1)
      const again = yield* Effect.flip(a.send("S", "title", "Dune"))
      assert.instanceOf(again, Endpoint.EndpointSpent)
      assert.deepInclude(again, { protocol: "TwoBuyer", session: "s-1", role: "A", state: 0 })
      assert.match(again.message, /already used: use the endpoint returned by the previous step/)
      assert.strictEqual(yield* Queue.size(net.queue("A", "S")), 1)
    })
  )

  it.effect("a send effect run twice sends once; a second send built on the same endpoint is spent", () =>
    Effect.gen(function* () {
      const net = yield* network(TwoBuyer.roles)
      const a = join(net.port("A"), "A")
      const send = a.send("S", "title", "Dune")
      const other = a.send("S", "title", "Emma")
      assert.strictEqual((yield* send).state, 1)
      assert.instanceOf(yield* Effect.flip(send), Endpoint.EndpointSpent)
      assert.instanceOf(yield* Effect.flip(other), Endpoint.EndpointSpent)
      assert.strictEqual(yield* Queue.size(net.queue("A", "S")), 1)
      assert.deepInclude(yield* Queue.take(net.queue("A", "S")), { label: "title", payload: "Dune" })
    })
  )

  it.effect("refuses an illegal send before anything leaves, and reports it to the port", () =>
    Effect.gen(function* () {
      const net = yield* network(TwoBuyer.roles)
      const s = Endpoint.untyped(Monitor.make(TwoBuyer, "S", "s-1"), net.port("S"))
      const error = yield* Effect.flip(s.send("B", "quote", 10))
      assert.instanceOf(error, Monitor.ProtocolViolation)
      assert.deepInclude(error, { role: "S", state: 0, got: "B!quote", reason: "direction" })
      assert.strictEqual(yield* Queue.size(net.queue("S", "B")), 0)
      assert.deepStrictEqual(net.violations, [error])
      // The endpoint is spent by the attempt.
      assert.instanceOf(yield* Effect.flip(s.send("B", "quote", 10)), Endpoint.EndpointSpent)
    })
  )

  it.effect("refuses a payload its schema rejects at the sender", () =>
    Effect.gen(function* () {
      const net = yield* network(TwoBuyer.roles)
      const a = Endpoint.untyped(Monitor.make(TwoBuyer, "A", "s-1"), net.port("A"))
      const error = yield* Effect.flip(a.send("S", "title", 42))
      assert.deepInclude(error, { reason: "payload", got: "S!title" })
      assert.strictEqual(yield* Queue.size(net.queue("A", "S")), 0)
    })
  )

  it.effect("rejects a received message the local type does not allow (an unchecked peer)", () =>
    Effect.gen(function* () {
      const net = yield* network(TwoBuyer.roles)
      // The seller resumes at its decision state (as after a restart from a checkpoint) ...
      const s = Endpoint.untyped(Monitor.make(TwoBuyer, "S", "s-1"), net.port("S"), 3)
      assert.strictEqual(s._tag, "Receive")
      // ... and a peer that does not check sends something out of protocol.
      yield* Queue.offer(net.queue("A", "S"), { from: "A", label: "refund", payload: 10 })
      const error = yield* Effect.flip(s.receive())
      assert.instanceOf(error, Monitor.ProtocolViolation)
      assert.deepInclude(error, { role: "S", state: 3, got: "A?refund", reason: "label" })
      assert.deepStrictEqual(error.expected, ["A?buy(string)", "A?cancel()"])
      assert.deepStrictEqual(net.violations, [error])
    })
  )

  it.effect("refuses to close before the end", () =>
    Effect.gen(function* () {
      const net = yield* network(TwoBuyer.roles)
      const b = Endpoint.untyped(Monitor.make(TwoBuyer, "B", "s-1"), net.port("B"))
      assert.deepInclude(yield* Effect.flip(b.close()), { reason: "unfinished", got: "close" })
    })
  )

  it.effect("records a trace that draws as a sequence diagram", () =>
    Effect.gen(function* () {
      const net = yield* network(TwoBuyer.roles)
      yield* runTwoBuyer(net, 30, 10)
      const diagram = Diagram.trace(net.trace, { roles: TwoBuyer.roles })
      assert.include(diagram, 'A->>S: title("Dune")')
      assert.include(diagram, "B->>A: reject()")
      assert.include(diagram, "A->>S: cancel()")
      assert.notInclude(diagram, "-x")
    })
  )
})
