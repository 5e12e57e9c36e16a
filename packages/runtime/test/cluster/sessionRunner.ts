/**
 * A runner process for the multi-runner session tests: `sessionRunner.ts <postgres url> <port> <name>`. It hosts
 * the ledger session's roles and coordinators, prints `ready` once it has joined, and stops on SIGTERM.
 *
 * Its log (stdout, a file per runner in the test's log directory) says what the sessions did on it, to diagnose a
 * session that failed: every role's steps, resumptions and violations, session messages that found no session
 * (dead letters), role actors spawned and stopped (activations, passivations, shard moves), and the engine's debug
 * logs (shard assignments, acquisitions, releases), each with a timestamp.
 */
import { ActorSystem, Cluster } from "@troupe/runtime"
import { Cause, Effect, Layer, References, Stream } from "effect"
import { serve } from "./processes.ts"
import { testSharding } from "./runner.ts"
import { Auditors, Banks, Clients, hosting } from "./sessionRoles.ts"

const [url, port, name] = process.argv.slice(2)

/** One line of the runner's log: what happened, with the time. */
const line = (event: Record<string, unknown>) =>
  console.log(JSON.stringify({ t: new Date().toISOString().slice(11, 23), ...event }))

/** What the log keeps of a system event (`undefined`: nothing). */
const logged = (e: { readonly _tag: string } & Record<string, unknown>): Record<string, unknown> | undefined => {
  switch (e._tag) {
    case "SessionStep":
      return {
        event: "step",
        s: e.session,
        role: e.role,
        dir: e.direction,
        peer: e.peer,
        label: e.label,
        state: e.state
      }
    case "SessionResumed":
    case "SessionCrashed":
      return { event: e._tag, s: e.session, role: e.role, state: e.state, cause: e.cause }
    case "SessionViolation":
      return { event: e._tag, s: e.session, role: e.role, violation: String(e.violation) }
    case "SessionStarted":
    case "SessionEnded":
      return { event: e._tag, s: e.session, outcome: e.outcome, cause: (e.cause as { _tag?: string })?._tag }
    case "DeadLetter": {
      const m = e.message as { _tag?: string; session?: string; seq?: number; from?: string; label?: string }
      return {
        event: "dead",
        to: e.recipient,
        reason: e.reason,
        tag: e.tag,
        s: m?.session,
        seq: m?.seq,
        from: m?.from,
        label: m?.label
      }
    }
    case "Spawned":
    case "Stopped":
    case "Restarted":
    case "StopTimedOut":
      return String(e.path).includes("ession") ? { event: e._tag, path: e.path, reason: e.reason } : undefined
    case "Failed":
      return {
        event: e._tag,
        path: e.path,
        tag: e.tag,
        cause: Cause.pretty(e.cause as Cause.Cause<unknown>).slice(0, 600)
      }
    default:
      return undefined
  }
}

/** Writes the system's session events to the log, from before the runner joins. */
const sessionLog = Layer.effectDiscard(
  Effect.gen(function* () {
    const system = yield* ActorSystem.ActorSystem
    const events = yield* system.subscribe
    yield* Effect.forkScoped(
      Stream.runForEach(events, (e) =>
        Effect.sync(() => {
          const event = logged(e as never)
          if (event !== undefined) line(event)
        })
      )
    )
  })
)

const runner = hosting([Clients, Banks, Auditors]).pipe(
  // (under the role types: the log closes after them, so a graceful stop's passivations are in it)
  Layer.provideMerge(sessionLog),
  Layer.provideMerge(ActorSystem.layer({ name: name ?? "runner" })),
  Layer.provideMerge(
    Cluster.layerPostgres({ url: url!, host: "127.0.0.1", port: Number(port), shards: 30, ...testSharding })
  ),
  Layer.provide(Layer.succeed(References.MinimumLogLevel, "Debug"))
)

await serve(runner, name)
