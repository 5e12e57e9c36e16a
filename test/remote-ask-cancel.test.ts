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
