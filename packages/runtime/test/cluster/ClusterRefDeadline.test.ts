/**
 * A sharded ref's ask deadline is judged after the I/O already waiting was read (cluster/internal/clusterRef.ts),
 * as a local or remote ask's is (runtime internal/deadlines.ts). A client process asks an actor on a runner process
 * (a real PostgreSQL server, the engine's own sockets), then keeps its event loop busy past the ask's deadline while
 * the runner answers. When the client's loop runs again, Node runs the timers that fell due before it reads the
 * sockets: a deadline fired from its timer would fail the ask with `AskTimeout` though its reply already waits unread
 * in the socket. The reply must win; an ask whose reply does not come still times out. Runs with `TROUPE_CLUSTER=1`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Cluster, Sharded } from "@troupe/runtime"
import { Effect, Exit, Fiber, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { blockUntil, HANG_MS } from "../../../../test/support/block-until.ts"
import * as Postgres from "../durable/postgres.ts"
import { Marked, Markeds } from "./marked.ts"
import * as Processes from "./processes.ts"
import { testSharding } from "./runner.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
const SCRIPT = fileURLToPath(new URL("./markedRunner.ts", import.meta.url))
const DEADLINE_MS = 300

describe.skipIf(!enabled)("a sharded ref's ask deadline", () => {
  const { runners, url } = Processes.postgresAndRunners()

  it("is judged after the waiting I/O was read: a reply in the socket wins; no reply still times out", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-cluster-deadline-"))
    try {
      runners.push(
        await Processes.within(Processes.startRunner(SCRIPT, url(), "m1", dir), 120_000, "runner m1 to be ready")
      )
      const client = Cluster.layerPostgres({ url: url(), clientOnly: true, shards: 30, ...testSharding })
      const program = Effect.gen(function* () {
        const marked = yield* Sharded.ref(Markeds, "m-1")
        // warm: the client knows the shard's runner and is connected to it, the code paths compiled
        expect(yield* marked.ask(Marked.Ping({ marker: join(dir, "warm") }), { timeout: "60 seconds" })).toBe("pong")
        const outcomes: Array<unknown> = []
        for (let round = 0; round < 3; round++) {
          const marker = join(dir, `ping-${round}`)
          const asked = Date.now()
          const ping = yield* Effect.forkChild(marked.ask(Marked.Ping({ marker }), { timeout: DEADLINE_MS }), {
            startImmediately: true
          })
          const hang = yield* Effect.forkChild(marked.ask(Marked.Hang(), { timeout: DEADLINE_MS }), {
            startImmediately: true
          })
          // after the engine's write of the requests (its socket writes are queued in this turn)
          yield* Effect.sync(() => setImmediate(() => blockUntil(marker, asked + DEADLINE_MS, 50, "the runner")))
          const pinged = yield* Fiber.await(ping)
          const hung = yield* Effect.flip(Fiber.join(hang))
          outcomes.push([round, Exit.isSuccess(pinged) ? pinged.value : String(pinged.cause), hung._tag])
        }
        return outcomes
      })
      const outcomes = await Processes.within(
        Effect.runPromise(Effect.provide(program, Layer.orDie(client)) as Effect.Effect<Array<unknown>>),
        HANG_MS * 2,
        "the asks"
      )
      expect(outcomes).toEqual([0, 1, 2].map((round) => [round, "pong", "AskTimeout"]))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
