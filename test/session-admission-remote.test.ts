/**
 * Session admission across two processes: the starter and the sessions' coordinators on one node (this process),
 * both participants on another (a child process, `support/session-participants.ts`), over WebSocket on loopback.
 * 1,000 sessions started at once on a system that lets 32 join at once: never more than 32 join at once (on the
 * system's `maxJoiningSessions`; 256 without it), every session ends (completed, or refused typed), each place is given
 * back once the remote joins are answered (none joining or waiting after), and a session started after the burst
 * completes. The deadline is long enough for the host's load (30 s): under it, all complete.
 */
import { fileURLToPath } from "node:url"
import { ActorSystem, Session } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Cause, Effect, Exit } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { Admission } from "../packages/runtime/src/choreography/internal/sessionAdmission.ts"
import { start, stopAll } from "./support/child.ts"
import { Ask, secret } from "./support/session-ask.ts"

afterAll(stopAll)

const participants = fileURLToPath(new URL("./support/session-participants.ts", import.meta.url))
const askTimeoutMillis = 30_000

describe("session admission across two processes", () => {
  it("1,000 sessions at once with the participants on another node: at most maxJoiningSessions join at once, all end, every place is given back", async () => {
    const child = start([participants, String(askTimeoutMillis)])
    const ready = JSON.parse(await child.line('"ready"')) as { ready: string }
    const program = Effect.gen(function* () {
      const transport = yield* WebSocket.make({ node: "starter", secret })
      const system = yield* ActorSystem.make({
        name: "starter",
        askTimeout: `${askTimeoutMillis} millis`,
        maxJoiningSessions: 32
      }).pipe(Effect.provideService(Transport.Transport, transport))
      yield* system.connect(ready.ready)
      const C = yield* system.lookup("/user/C", Session.protocolOf(Ask, "C"), { node: "parts" })
      const S = yield* system.lookup("/user/S", Session.protocolOf(Ask, "S"), { node: "parts" })
      const admission = Admission.of(ActorSystem.internal(system))
      let mostJoining = 0
      const sample = setInterval(() => {
        mostJoining = Math.max(mostJoining, admission.joining)
      }, 1)
      const exits = yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => i),
        (i) =>
          Effect.exit(Session.run(Ask, { roles: { C, S }, id: `remote-${i}` })).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                mostJoining = Math.max(mostJoining, admission.joining)
              })
            )
          ),
        { concurrency: "unbounded" }
      ).pipe(Effect.provideService(ActorSystem.ActorSystem, system))
      clearInterval(sample)
      const after = { joining: admission.joining, waiting: admission.waiting }
      const again = yield* Effect.exit(Session.run(Ask, { roles: { C, S } })).pipe(
        Effect.provideService(ActorSystem.ActorSystem, system)
      )
      const failures = exits.filter(Exit.isFailure).map((exit) => Cause.squash(exit.cause))
      return {
        completed: exits.filter(Exit.isSuccess).length,
        failures: [...new Set(failures.map((e) => (e as { _tag?: string })._tag))],
        mostJoining,
        after,
        again: Exit.isSuccess(again) ? again.value.results : String(again)
      }
    })
    const result = await Effect.runPromise(Effect.scoped(program))
    child.process.stdin!.end()
    await child.exited()
    console.log(JSON.stringify(result))
    expect(result.mostJoining).toBeGreaterThan(0)
    expect(result.mostJoining).toBeLessThanOrEqual(32)
    expect(result).toMatchObject({ completed: 1000, failures: [], after: { joining: 0, waiting: 0 }, again: { C: 2 } })
  }, 300_000)
})
