/**
 * A deadline is judged after the I/O already waiting has been read (issue 9 scenario 10, "every deadline kept"): two
 * processes on WebSockets over loopback; the caller asks, then keeps its event loop busy past the ask's deadline while
 * the callee (another process, `support/marked-node.ts`) answers. When the caller's loop runs again, Node runs the
 * timers that fell due before it reads the sockets: a deadline fired from the timer would fail the ask with
 * `AskTimeout` though its reply already waits unread in the socket (10,000 sessions started at once lost every remote
 * join that way: the starter held the thread longer than the ask timeout). The reply must win; an ask whose reply does
 * not come still times out, once the waiting I/O was read.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Effect, Exit, Fiber } from "effect"
import { afterAll } from "vitest"
import { blockUntil, HANG_MS } from "./support/block-until.ts"
import { start, stopAll } from "./support/child.ts"
import { Marked, secret } from "./support/marked-reply.ts"

afterAll(stopAll)

const node = fileURLToPath(new URL("./support/marked-node.ts", import.meta.url))
const DEADLINE_MS = 200

describe("a deadline is judged after the I/O already waiting was read", () => {
  it.live(
    "an ask whose reply waits unread when its deadline passes gets the reply; one whose reply does not come times out",
    () =>
      Effect.gen(function* () {
        const child = start([node])
        yield* Effect.addFinalizer(() =>
          Effect.promise(async () => {
            child.process.stdin!.end()
            await child.exited()
          })
        )
        const ready = JSON.parse(yield* Effect.promise(() => child.line('"ready"'))) as { ready: string }
        const dir = mkdtempSync(join(tmpdir(), "troupe-deadline-io-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
        const transport = yield* WebSocket.make({ node: "caller", secret })
        const system = yield* ActorSystem.make({ name: "caller" }).pipe(
          Effect.provideService(Transport.Transport, transport)
        )
        yield* system.connect(ready.ready)
        const marked = yield* system.lookup("/user/marked", Marked, { node: "callee" })
        // warm: the link is up and idle, the code paths compiled
        assert.strictEqual(yield* marked.ask(Marked.Ping({ marker: join(dir, "warm") })), "pong")
        for (let round = 0; round < 3; round++) {
          const marker = join(dir, `ping-${round}`)
          const asked = Date.now()
          const ping = yield* Effect.forkChild(marked.ask(Marked.Ping({ marker }), { timeout: DEADLINE_MS }), {
            startImmediately: true
          })
          const hang = yield* Effect.forkChild(marked.ask(Marked.Hang(), { timeout: DEADLINE_MS }), {
            startImmediately: true
          })
          // after the link's write of the asks (at once on an idle link, else in a microtask queued before this one)
          yield* Effect.sync(() => queueMicrotask(() => blockUntil(marker, asked + DEADLINE_MS, 50, "the callee")))
          const pinged = yield* Fiber.await(ping)
          assert.deepStrictEqual(pinged, Exit.succeed("pong"), `round ${round}`)
          const hung = yield* Effect.flip(Fiber.join(hang))
          assert.strictEqual(hung._tag, "AskTimeout", `round ${round}`)
        }
        assert.strictEqual(ActorSystem.internal(system).remoting!.asks.size, 0)
      }).pipe(Effect.scoped),
    HANG_MS * 2
  )
})
