/**
 * The remote message path under faults (issue 9): full mailboxes, asks that time out on live nodes, a graceful
 * shutdown with data in flight, what the wire refuses, a full resend buffer with the fail policy, partitions,
 * and the bookkeeping a callee keeps for remote asks and watches. Both transports where it applies; the tests
 * that need a partition run in process.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Mailbox, Session } from "@troupe/runtime"
import { FailureDetector } from "@troupe/transport"
import { Cause, Deferred, Effect, Exit, Fiber, Stream } from "effect"
import { eventually, pair, server, tolerant, Upload, uploader, Work, within, worker } from "./support/remote-work.ts"
import { inProcess, topologies } from "./support/topology.ts"

for (const topology of topologies) {
  describe(`remote message path under faults (${topology.name})`, () => {
    it.live("scenario 2: a full mailbox slows only its own senders; cancellations and other actors go through", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"]))
        const hung = yield* Deferred.make<void>()
        const interrupted = yield* Deferred.make<void>()
        yield* alice.system.spawn(worker({ hung, interrupted }), { name: "busy", mailbox: Mailbox.bounded(2) })
        yield* alice.system.spawn(worker(), { name: "other" })
        const busy = yield* bob.system.lookup("/user/busy", Work, { node: "alice" })
        const other = yield* bob.system.lookup("/user/other", Work, { node: "alice" })
        const asking = yield* Effect.forkChild(Effect.flip(busy.ask(Work.Hang(), { timeout: "300 millis" })))
        yield* Deferred.await(hung)
        // busy's mailbox fills: these senders wait, nobody else does
        const telling = yield* Effect.forkChild(
          Effect.forEach(
            Array.from({ length: 20 }, (_, n) => n),
            (n) => busy.tell(Work.Item({ n }))
          )
        )
        yield* Effect.sleep("20 millis")
        assert.strictEqual(yield* within(1000, "an ask to another actor", Effect.orDie(other.ask(Work.Count()))), 0)
        assert.strictEqual((yield* Fiber.join(asking))._tag, "AskTimeout")
        // the cancellation crossed although busy's mailbox was full: the stuck handler is interrupted
        yield* within(2000, "the stuck handler's interruption", Deferred.await(interrupted))
        yield* within(2000, "the waiting senders", Fiber.join(telling))
        assert.strictEqual(yield* within(2000, "busy's count", busy.ask(Work.Count())), 20)
      })
    )

    it.live("scenario 3: a graceful shutdown with tells in flight to a slow actor loses none of them", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"]))
        const slow = yield* alice.system.spawn(worker({ itemMillis: 5 }), {
          name: "slow",
          mailbox: Mailbox.bounded(4)
        })
        const remote = yield* bob.system.lookup("/user/slow", Work, { node: "alice" })
        for (let n = 0; n < 20; n++) yield* remote.tell(Work.Item({ n }))
        yield* bob.shutdown
        yield* eventually(
          Effect.orDie(slow.ask(Work.Count())),
          (count) => count === 20,
          "20 items handled after the goodbye"
        )
        assert.strictEqual(yield* alice.system.deadLetters, 0)
      })
    )

    it.live("scenario 4: a tell or ask the wire refuses fails at the sender with InvalidMessage", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, { maxFrameBytes: 64 * 1024 }))
        yield* alice.system.spawn(worker(), { name: "w" })
        const remote = yield* bob.system.lookup("/user/w", Work, { node: "alice" })
        const big = yield* Effect.flip(remote.tell(Work.Blob({ data: "x".repeat(100 * 1024) })))
        assert.strictEqual(big._tag, "InvalidMessage")
        const notJson = yield* Effect.flip(remote.tell(Work.Value({ value: 10n })))
        assert.strictEqual(notJson._tag, "InvalidMessage")
        assert.include(notJson.message, "Value")
        // the link is unharmed
        yield* remote.tell(Work.Item({ n: 1 }))
        assert.strictEqual(yield* remote.ask(Work.Count()), 1)
      })
    )

    it.live("scenario 4: a session whose send the wire refuses aborts with the typed failure (no hang)", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, { maxFrameBytes: 64 * 1024 }))
        const client = yield* alice.system.spawn(uploader(100 * 1024), { name: "client" })
        const onBob = yield* bob.system.spawn(server, { name: "server" })
        const serverRef = yield* alice.system.lookup(onBob.path, Session.protocolOf(Upload, "Server"), { node: "bob" })
        const exit = yield* within(
          5000,
          "the session's end",
          Effect.exit(
            Session.run(Upload, { roles: { Client: client, Server: serverRef }, stepTimeout: "20 seconds" }).pipe(
              Effect.provideService(ActorSystem.ActorSystem, alice.system)
            )
          )
        )
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)), "InvalidMessage")
        // a small upload on the same nodes still works
        const small = yield* alice.system.spawn(uploader(10), { name: "small" })
        const done = yield* within(
          5000,
          "a small session",
          Session.run(Upload, { roles: { Client: small, Server: serverRef }, stepTimeout: "20 seconds" }).pipe(
            Effect.provideService(ActorSystem.ActorSystem, alice.system)
          )
        )
        assert.strictEqual(done.results.Server, 10)
      })
    )

    it.live("scenario 7: remote asks that time out leave nothing on the callee", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, tolerant))
        yield* alice.system.spawn(worker(), { name: "w", mailbox: Mailbox.bounded(4096) })
        const remote = yield* bob.system.lookup("/user/w", Work, { node: "alice" })
        yield* remote.tell(Work.Hang()) // stuck for good: every ask below waits in the mailbox and times out
        const errors = yield* Effect.forEach(
          Array.from({ length: 500 }, (_, n) => n),
          () => Effect.flip(remote.ask(Work.Count(), { timeout: "100 millis" })),
          { concurrency: "unbounded" }
        )
        assert.isTrue(errors.every((error) => error._tag === "AskTimeout"))
        const callee = ActorSystem.internal(alice.system).remoting!
        yield* eventually(
          Effect.sync(() => callee.pendingInbound),
          (n) => n === 0,
          "the callee to forget the timed-out asks"
        )
      })
    )

    it.live("scenario 8: the callee forgets watches of actors that terminated; the remote-ref cache is bounded", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"]))
        for (let i = 0; i < 50; i++) {
          const local = yield* alice.system.spawn(worker(), { name: `short-${i}` })
          const remote = yield* bob.system.lookup(`/user/short-${i}`, Work, { node: "alice" })
          const watching = yield* Effect.forkChild(bob.system.awaitTermination(remote))
          yield* Effect.sleep("1 millis")
          yield* local.tell(Work.Stop())
          yield* Fiber.join(watching)
        }
        const callee = ActorSystem.internal(alice.system).remoting!
        assert.strictEqual(callee.watchedHere, 0)
        const caller = ActorSystem.internal(bob.system).remoting!
        assert.strictEqual(caller.watching, 0)
      })
    )

    it.live("scenario 2: after a burst of asks that time out, a steady load is served again at once", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"], {}, tolerant))
        yield* alice.system.spawn(worker({ itemMillis: 2 }), { name: "w", mailbox: Mailbox.bounded(2048) })
        const remote = yield* bob.system.lookup("/user/w", Work, { node: "alice" })
        // 1100 asks of 2 ms of work each: nearly all time out; their work must not be done once cancelled
        const burst = yield* Effect.forEach(
          Array.from({ length: 1100 }, (_, n) => n),
          () => Effect.exit(remote.ask(Work.SlowCount(), { timeout: "50 millis" })),
          { concurrency: "unbounded" }
        )
        const timedOut = burst.filter(
          (exit) => Exit.isFailure(exit) && (Cause.squash(exit.cause) as { _tag?: string })._tag === "AskTimeout"
        )
        assert.isAbove(timedOut.length, 1000)
        // the issue saw 0 of 80 served for seconds; 2 s leaves room for a loaded machine
        const served = yield* within(
          2000,
          "4 callers served 20 asks each",
          Effect.forEach(
            [0, 1, 2, 3],
            () =>
              Effect.forEach(
                Array.from({ length: 20 }, (_, n) => n),
                () => Effect.orDie(remote.ask(Work.Count(), { timeout: "1 second" }))
              ),
            { concurrency: "unbounded" }
          )
        )
        assert.strictEqual(served.flat().length, 80)
        assert.strictEqual(ActorSystem.internal(alice.system).remoting!.pendingInbound, 0)
      })
    )

    it.live("scenario 12: a lookup on a node that is not reachable fails with unreachable", () =>
      Effect.gen(function* () {
        const { bob } = pair(yield* topology.start(["alice", "bob"]))
        const error = yield* Effect.flip(bob.system.lookup("/user/w", Work, { node: "carol" }))
        assert.strictEqual(error.reason, "unreachable")
      })
    )
  })
}

describe("remote message path under partitions (in-process)", () => {
  const options = { resendBuffer: { capacity: 4, overflow: "fail" as const } }

  it.live("scenario 5: with the fail policy, system messages sent during a partition arrive after it heals", () =>
    Effect.gen(function* () {
      const { alice, bob } = pair(yield* inProcess.start(["alice", "bob"], {}, options))
      const watched = yield* alice.system.spawn(worker(), { name: "watched" })
      yield* bob.system.spawn(worker(), { name: "sink" })
      const remote = yield* bob.system.lookup("/user/watched", Work, { node: "alice" })
      const sink = yield* alice.system.lookup("/user/sink", Work, { node: "bob" })
      const watching = yield* Effect.forkChild(bob.system.awaitTermination(remote))
      yield* Effect.sleep("20 millis") // the watch reaches alice
      yield* alice.network!.partition(["alice"], ["bob"])
      // alice's window to bob fills with user messages (the fail policy refuses the rest) ...
      for (let n = 0; n < 8; n++) yield* Effect.exit(sink.tell(Work.Item({ n })))
      // ... and the death-watch notice must still get through once the partition heals
      yield* watched.tell(Work.Stop())
      yield* Effect.sleep("100 millis")
      yield* alice.network!.heal
      const terminated = yield* within(3000, "the Terminated notice", Fiber.join(watching))
      assert.strictEqual(terminated.reason._tag, "Stopped")
    })
  )

  it.live("scenario 3: tells a link carried when its peer was declared down are counted dead letters", () =>
    Effect.gen(function* () {
      const { alice, bob } = pair(yield* inProcess.start(["alice", "bob"]))
      yield* bob.system.spawn(worker(), { name: "sink" })
      const sink = yield* alice.system.lookup("/user/sink", Work, { node: "bob" })
      const before = yield* alice.system.deadLetters
      const dead: Array<unknown> = []
      yield* (yield* alice.system.subscribe).pipe(
        Stream.runForEach((e) => Effect.sync(() => e._tag === "DeadLetter" && dead.push(e.message))),
        Effect.forkScoped
      )
      yield* alice.network!.partition(["alice"], ["bob"])
      for (let n = 0; n < 5; n++) yield* sink.tell(Work.Item({ n }))
      // alice's failure detector declares bob down (both live): the link ends with the 5 tells unacknowledged
      yield* eventually(alice.system.nodes, (nodes) => !nodes.includes("bob"), "alice's verdict on bob")
      yield* alice.network!.heal
      yield* eventually(alice.system.nodes, (nodes) => nodes.includes("bob"), "the link back")
      const handled = yield* within(3000, "the count", sink.ask(Work.Count()))
      assert.strictEqual(handled + (yield* alice.system.deadLetters) - before, 5, `handled ${handled}`)
      // each dead letter is the message it was (which tells the verdict cost): the last 5 - handled sent
      yield* eventually(
        Effect.sync(() => dead.length),
        (n) => n === 5 - handled,
        "the dead letters published"
      )
      assert.deepStrictEqual(
        dead.map((message) => ({ ...(message as object) })),
        Array.from({ length: 5 - handled }, (_, i) => ({ _tag: "Item", n: handled + i }))
      )
    })
  )

  it.live("scenario 3: tells a link carried when its sender shut down are counted dead letters there", () =>
    Effect.gen(function* () {
      const { alice, bob } = pair(yield* inProcess.start(["alice", "bob"], {}, { shutdownTimeout: "100 millis" }))
      yield* bob.system.spawn(worker(), { name: "sink" })
      const sink = yield* alice.system.lookup("/user/sink", Work, { node: "bob" })
      const before = yield* alice.system.deadLetters
      yield* alice.network!.partition(["alice"], ["bob"])
      for (let n = 0; n < 5; n++) yield* sink.tell(Work.Item({ n }))
      // alice shuts down (its system, then its transport) before bob acknowledged any of them
      yield* alice.shutdown
      assert.strictEqual((yield* alice.system.deadLetters) - before, 5)
    })
  )

  it.live("scenario 10: an ask's deadline is kept while the resend buffer is full", () =>
    Effect.gen(function* () {
      const { alice, bob } = pair(
        // a detector slower than the partition even on a starved machine: the two nodes stay live (at load 20 the
        // suite's 400 ms one declared alice down mid-test, and the waiting tells failed NodeUnreachable)
        yield* inProcess.start(
          ["alice", "bob"],
          {},
          { resendBuffer: { capacity: 4, overflow: "suspend" }, failureDetector: FailureDetector.timeout("30 seconds") }
        )
      )
      yield* alice.system.spawn(worker(), { name: "w" })
      const remote = yield* bob.system.lookup("/user/w", Work, { node: "alice" })
      yield* bob.network!.partition(["alice"], ["bob"])
      const filling = yield* Effect.forkChild(
        Effect.forEach(
          Array.from({ length: 8 }, (_, n) => n),
          (n) => remote.tell(Work.Item({ n }))
        )
      )
      yield* Effect.sleep("10 millis")
      const started = Date.now()
      const exit = yield* Effect.exit(remote.ask(Work.Count(), { timeout: "200 millis" }))
      const took = Date.now() - started
      assert.isTrue(Exit.isFailure(exit))
      assert.isBelow(took, 300, `the ask took ${took} ms`)
      yield* bob.network!.heal
      yield* within(3000, "the waiting tells", Fiber.join(filling))
      assert.strictEqual(yield* within(3000, "the count", remote.ask(Work.Count())), 8)
    })
  )
})
