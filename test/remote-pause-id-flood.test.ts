/**
 * A peer pauses sends to actors it makes up (flow control: "my actor's mailbox is full, hold your sends to it"). The
 * node keeps at most `maxParked` (16,384) paused paths per peer node, but a node id is whatever a peer with the secret
 * says it is: one process linked under 5 ids kept 5 x 16,384 = 81,920 (under 50 ids, 819,200), a 16,384 more for
 * each id. The pauses of all peers are now bounded too (4 x 16,384 = 65,536), shared by the address a peer's link came
 * from and then by node id (as listings and sessions are): the flooder's ids on one address hold one share together,
 * and an honest node on another address still has its pause kept (the flooder's oldest is let go for it), so the
 * node's sends to its full actor are held until it resumes, and none is lost.
 *
 * The flooder is another process (test/support/id-flooder.ts) dialing from 127.0.0.1; the honest node listens on
 * 127.0.0.2 and the target dials it, so its link has an address of its own.
 */
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Mailbox, Protocol } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Deferred, Effect, Fiber, Option, References, Schedule, Schema } from "effect"
import * as Child from "./support/child.ts"
import type { FlooderConfig } from "./support/id-flooder.ts"
import * as PeerFlood from "./support/peer-flood.ts"

const SECRET = "a pause id flood test secret"
const FLOODER = fileURLToPath(new URL("./support/id-flooder.ts", import.meta.url))
/** Node ids of the flooder, each pausing 16,384 made-up paths (the most one node may). */
const IDS = process.env.TROUPE_LONG === "1" ? 50 : 5
const PER_NODE = 16_384
const ALL = 4 * PER_NODE
const PUSHES = 20
afterAll(() => Child.stopAll())

const Slow = Protocol.make("Slow", { Push: { n: Schema.Number } })

/** The flooder process, linked under {@link IDS} ids once the node took every pause it sent. */
const flood = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const config: FlooderConfig = { url, secret: SECRET, ids: IDS, pauses: PER_NODE }
      const child = Child.start([FLOODER, JSON.stringify(config)])
      await child.line(/"flooded"/)
      return child
    }),
    (child) => Effect.sync(() => child.process.kill("SIGKILL"))
  )

describe(`one process links under ${IDS} node ids from one address and pauses ${PER_NODE.toLocaleString("en")} made-up paths under each`, () => {
  it.live(
    `the node keeps ${ALL.toLocaleString("en")} pauses of all peers (was: ${PER_NODE.toLocaleString("en")} per id, ${(IDS * PER_NODE).toLocaleString("en")}) and an honest node on another address still pauses its full actor: the node's sends to it wait, none lost`,
    () =>
      Effect.gen(function* () {
        const { system, url } = yield* PeerFlood.floodTarget(SECRET)
        const flow = ActorSystem.internal(system).remoting!.flow
        yield* flood(url)
        assert.strictEqual(flow.pausedCount(), ALL, `${flow.pausedCount()} paths paused by ${IDS} node ids`)

        // the honest node, on 127.0.0.2, has an actor that takes one message at a time and holds the first
        const transport = yield* WebSocket.make({
          node: "honest",
          secret: SECRET,
          listen: { port: 0, host: "127.0.0.2" }
        })
        const honest = yield* ActorSystem.make({ name: "honest" }).pipe(
          Effect.provideService(Transport.Transport, transport)
        )
        const gate = yield* Deferred.make<void>()
        const got: Array<number> = []
        yield* honest.spawn(
          Behavior.make(Slow, {
            initial: null,
            receive: {
              Push: (state, { n }) =>
                Deferred.await(gate).pipe(Effect.andThen(Effect.sync(() => got.push(n))), Effect.as(state))
            }
          }),
          { name: "slow", mailbox: Mailbox.bounded(1) }
        )
        yield* system.connect(Option.getOrThrow(transport.address))
        const slow = yield* system.lookup("/user/slow", Slow, { node: "honest" })
        const push = (from: number, to: number) =>
          Effect.forkChild(
            Effect.forEach(
              Array.from({ length: to - from }, (_, i) => from + i),
              (n) => slow.tell(Slow.Push({ n })),
              {
                discard: true
              }
            )
          )
        // the third push finds the mailbox full: the honest node parks it and pauses the target's sends to its actor
        const first = yield* push(0, 3)
        const paused = yield* Effect.sync(() => flow.isPaused("honest", "/user/slow")).pipe(
          Effect.repeat({ until: (paused) => paused, schedule: Schedule.spaced("20 millis"), times: 1_500 })
        )
        assert.isTrue(paused, "the honest node's pause was not kept (the flooder's pauses filled the node)")
        assert.strictEqual(flow.pausedCount("honest"), 1)
        assert.strictEqual(flow.pausedCount(), ALL, `${flow.pausedCount()} paths paused in all`)
        // the next pushes wait on the target until the honest node resumes
        const rest = yield* push(3, PUSHES)
        const held = yield* Effect.sync(() => flow.size.held).pipe(
          Effect.repeat({ until: (held) => held > 0, schedule: Schedule.spaced("20 millis"), times: 1_500 })
        )
        assert.isAbove(held, 0, "no send of the target's held for the paused actor")
        assert.strictEqual(got.length, 0)

        // the actor goes on: everything arrives, in order, and the pause is let go
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(first)
        yield* Fiber.join(rest)
        const all = yield* Effect.sync(() => got.length).pipe(
          Effect.repeat({ until: (n) => n === PUSHES, schedule: Schedule.spaced("20 millis"), times: 1_500 })
        )
        assert.strictEqual(all, PUSHES, `the honest actor got ${got.join(",")}`)
        assert.deepStrictEqual(
          got,
          Array.from({ length: PUSHES }, (_, n) => n)
        )
        assert.isFalse(flow.isPaused("honest", "/user/slow"))
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
