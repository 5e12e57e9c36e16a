/**
 * Ask cancellation across nodes (red team of issue 9): the caller's fiber interrupted, not the ask's own
 * deadline. The callee's handler is interrupted; asks cancelled while still queued in the callee's mailbox are
 * never handled; the caller's node leaving (gracefully or by a crash) interrupts the handlers of its asks.
 */
import { assert, describe, it } from "@effect/vitest"
import { Behavior, Protocol } from "@troupe/runtime"
import { Effect, Fiber, Schema } from "effect"
import { eventually } from "./support/account.ts"
import { topologies } from "./support/topology.ts"

const Worker = Protocol.make("Worker", {
  Hang: Protocol.request({ n: Schema.Number }, { success: Schema.Number }),
  Count: Protocol.request({}, { success: Schema.Number })
})

interface Seen {
  started: Array<number>
  interrupted: Array<number>
}

const worker = (seen: Seen) =>
  Behavior.make(Worker, {
    initial: 0,
    receive: {
      Hang: (state, { n }) =>
        Effect.sync(() => seen.started.push(n)).pipe(
          Effect.andThen(Effect.never),
          Effect.onInterrupt(() => Effect.sync(() => seen.interrupted.push(n))),
          Effect.as({ state, reply: n })
        ),
      Count: (state) => Effect.succeed({ state, reply: state })
    }
  })

/** Fails the test with `what` unless `effect` completes within `ms` (real time). */
const within = <A, E>(ms: number, what: string, effect: Effect.Effect<A, E>) =>
  Effect.timeoutOrElse(effect, { duration: ms, orElse: () => Effect.die(new Error(`${what}: not within ${ms} ms`)) })

for (const topology of topologies) {
  describe(`ask cancellation across nodes (${topology.name})`, () => {
    it.live("interrupting the caller interrupts the callee's handler; asks cancelled in its mailbox never run", () =>
      Effect.gen(function* () {
        const [alice, bob] = yield* topology.start(["alice", "bob"])
        const seen: Seen = { started: [], interrupted: [] }
        yield* alice!.system.spawn(worker(seen), { name: "worker" })
        const remote = yield* bob!.system.lookup("/user/worker", Worker, { node: "alice" })
        const first = yield* Effect.forkChild(remote.ask(Worker.Hang({ n: 0 }), { timeout: "1 minute" }))
        yield* eventually(() => seen.started.length === 1, "the first ask's handler to start")
        // 50 more, queued behind the first in the callee's mailbox
        const queued = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i + 1),
          (n) => Effect.forkChild(remote.ask(Worker.Hang({ n }), { timeout: "1 minute" }))
        )
        yield* Effect.sleep("100 millis")
        for (const fiber of queued) yield* Fiber.interrupt(fiber)
        yield* Fiber.interrupt(first)
        yield* eventually(() => seen.interrupted.includes(0), "the running handler's interruption")
        // the actor is free again and serves the next ask; none of the cancelled ones ran
        assert.strictEqual(yield* within(5000, "an ask after the cancelled ones", remote.ask(Worker.Count())), 0)
        assert.deepStrictEqual(seen.started, [0])
      })
    )

    it.live("an ask interrupted at once after it is sent is never left running on the callee", () =>
      Effect.gen(function* () {
        const [alice, bob] = yield* topology.start(["alice", "bob"])
        const seen: Seen = { started: [], interrupted: [] }
        yield* alice!.system.spawn(worker(seen), { name: "worker" })
        const remote = yield* bob!.system.lookup("/user/worker", Worker, { node: "alice" })
        for (let n = 0; n < 20; n++) {
          const fiber = yield* Effect.forkChild(remote.ask(Worker.Hang({ n }), { timeout: "1 minute" }))
          yield* Effect.yieldNow
          yield* Fiber.interrupt(fiber)
        }
        // a handler left running would hang the actor for ever: the next ask would never be answered
        assert.strictEqual(yield* within(5000, "an ask after the cancelled ones", remote.ask(Worker.Count())), 0)
        assert.deepStrictEqual(
          seen.started.filter((n) => !seen.interrupted.includes(n)),
          [],
          `started ${seen.started}, interrupted ${seen.interrupted}`
        )
      })
    )

    it.live("a burst of asks, each interrupted by its caller's own timeout after 0-5 ms: none is left running", () =>
      Effect.gen(function* () {
        const [alice, bob] = yield* topology.start(["alice", "bob"])
        const seen: Seen = { started: [], interrupted: [] }
        yield* alice!.system.spawn(worker(seen), { name: "worker" })
        const remote = yield* bob!.system.lookup("/user/worker", Worker, { node: "alice" })
        yield* Effect.forEach(
          Array.from({ length: 1000 }, (_, n) => n),
          (n) => Effect.exit(Effect.timeout(remote.ask(Worker.Hang({ n }), { timeout: "1 minute" }), n % 6)),
          { concurrency: 200, discard: true }
        )
        assert.strictEqual(yield* within(5000, "an ask after the cancelled ones", remote.ask(Worker.Count())), 0)
        assert.deepStrictEqual(
          seen.started.filter((n) => !seen.interrupted.includes(n)),
          [],
          `started ${seen.started.length}, interrupted ${seen.interrupted.length}`
        )
      })
    )

    it.live("the caller's node shutting down gracefully interrupts the handlers of its asks", () =>
      Effect.gen(function* () {
        const [alice, bob] = yield* topology.start(["alice", "bob"])
        const seen: Seen = { started: [], interrupted: [] }
        yield* alice!.system.spawn(worker(seen), { name: "worker" })
        const remote = yield* bob!.system.lookup("/user/worker", Worker, { node: "alice" })
        yield* Effect.forkDetach(remote.ask(Worker.Hang({ n: 7 }), { timeout: "1 minute" }))
        yield* eventually(() => seen.started.length === 1, "the handler to start")
        yield* bob!.shutdown
        yield* eventually(() => seen.interrupted.includes(7), "the handler's interruption after the caller left")
      })
    )

    it.live("the caller's node crashing interrupts the handlers of its asks once it is declared down", () =>
      Effect.gen(function* () {
        const [alice, bob] = yield* topology.start(["alice", "bob"])
        const seen: Seen = { started: [], interrupted: [] }
        yield* alice!.system.spawn(worker(seen), { name: "worker" })
        const remote = yield* bob!.system.lookup("/user/worker", Worker, { node: "alice" })
        yield* Effect.forkDetach(remote.ask(Worker.Hang({ n: 9 }), { timeout: "1 minute" }))
        yield* eventually(() => seen.started.length === 1, "the handler to start")
        yield* bob!.crash
        yield* eventually(() => seen.interrupted.includes(9), "the handler's interruption after the caller crashed")
      })
    )
  })
}
