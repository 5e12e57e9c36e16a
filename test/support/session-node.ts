/**
 * A node of durable Ledger sessions (see `packages/runtime/test/durable/ledger.ts`) for the kill -9 tests:
 *
 *   node test/support/session-node.ts '{"node":"n1","sqlite":"/tmp/x.db","roles":["C","B","A"],"coordinate":true,...}'
 *
 * It spawns the participants of its roles (at `/user/<role>`), connects to its peers (when it has a port),
 * and, if it coordinates, recovers the sessions it coordinated and starts those that do not exist yet; it
 * prints each session's outcome as it ends (`outcome`). Every `once` effect appends `<session>/<role>/<n>
 * <time> <pid>` to the `effects` file; with `kill: { nth }` the process SIGKILLs itself as its nth `once` effect
 * starts (in the middle of a session step).
 */
import { appendFileSync, existsSync } from "node:fs"
import {
  ActorSystem,
  type Behavior,
  DurableSession,
  Introspection,
  type Protocol,
  Session,
  Storage
} from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Cause, Effect, Exit, Layer, Option, Stream } from "effect"
import { auditor, bank, client, Ledger } from "../../packages/runtime/test/durable/ledger.ts"
import { emit, main, serve } from "./node-process.ts"

export interface Config {
  readonly node: string
  readonly sqlite?: string
  readonly postgres?: string
  readonly roles: ReadonlyArray<"C" | "B" | "A">
  readonly coordinate: boolean
  readonly sessions: number
  readonly rounds: number
  readonly effects: string
  readonly deadlineMs: number
  /** Listen on this port and connect to these peers (several nodes); one node alone needs none. */
  readonly port?: number
  readonly peers?: ReadonlyArray<{ readonly node: string; readonly url: string }>
  /** Which node plays each role (when there are several nodes). */
  readonly placement?: Readonly<Record<"C" | "B" | "A", string>>
  readonly secret?: string
  readonly kill?: { readonly nth: number }
  /** How long each `once` effect takes (ms), so that kills land in the middle of sessions. */
  readonly stepMs?: number
  /** The sessions' step deadline (ms), if they have one. */
  readonly stepTimeoutMs?: number
  /** The storage's `nodeLease` (ms), if not the default. */
  readonly nodeLeaseMs?: number
  /** While this file exists, each `once` effect waits before it runs (so that a test holds the node mid-session). */
  readonly hold?: string
}

/** What a node prints: that it is ready, and each session's outcome (its results, or its abort cause's tag). */
export type Event =
  | { readonly event: "ready" }
  | { readonly event: "recovered"; readonly sessions: number }
  | { readonly event: "fenced"; readonly actors: number; readonly sessions: number; readonly roles: number }
  | {
      readonly event: "outcome"
      readonly session: string
      readonly completed?: Record<string, number>
      readonly aborted?: string
    }

const config = JSON.parse(process.argv[2] ?? "{}") as Config
let onces = 0

const held = Effect.gen(function* () {
  while (config.hold !== undefined && existsSync(config.hold)) yield* Effect.sleep("20 millis")
})

const effect = (session: string, role: string, n: number) =>
  Effect.andThen(
    Effect.andThen(held, Effect.sleep(`${config.stepMs ?? 0} millis`)),
    Effect.sync(() => {
      if (config.kill !== undefined && ++onces === config.kill.nth) process.kill(process.pid, "SIGKILL")
      appendFileSync(config.effects, `${session}/${role}/${n} ${Date.now()} ${process.pid}\n`)
    })
  )

const roles = { C: client(() => config.rounds), B: bank(effect), A: auditor(effect) }

const lease = config.nodeLeaseMs === undefined ? {} : { nodeLease: `${config.nodeLeaseMs} millis` as const }
const storage =
  config.postgres !== undefined
    ? Storage.layerPostgres({ url: config.postgres, ...lease })
    : Storage.layerSqlite({ filename: config.sqlite ?? "session-node.db", ...lease })

const transport =
  config.port === undefined
    ? Layer.empty
    : Layer.effect(
        Transport.Transport,
        WebSocket.make({
          node: config.node,
          secret: config.secret ?? "durable-sessions-secret",
          listen: { port: config.port, host: "127.0.0.1" },
          heartbeatInterval: "100 millis",
          failureDetector: { _tag: "Timeout", timeout: 1000 },
          reconnect: { initialDelay: "20 millis", maxDelay: "200 millis" }
        })
      )

const report = (session: string, exit: Exit.Exit<Session.Completed<Record<string, unknown>>, unknown>) =>
  Effect.sync(() => {
    if (Exit.isSuccess(exit)) return emit({ event: "outcome", session, completed: exit.value.results })
    const error = Cause.squash(exit.cause) as { readonly _tag?: string; readonly cause?: { readonly _tag?: string } }
    emit({ event: "outcome", session, aborted: error.cause?._tag ?? error._tag ?? String(error) })
  })

main(
  Effect.gen(function* () {
    const system = yield* ActorSystem.ActorSystem
    for (const role of config.roles) {
      yield* system.spawn(roles[role] as unknown as Behavior.Behavior<Protocol.Any, unknown>, { name: role })
    }
    // the node's durable work stopped (another process took its node name over): said once, on the event stream
    const events = yield* system.subscribe
    yield* Effect.forkScoped(
      Stream.runForEach(events, (e) =>
        e._tag === "DurableStopped"
          ? Effect.sync(() =>
              emit({ event: "fenced", actors: e.actors, sessions: e.sessions, roles: e.roles, error: e.error._tag })
            )
          : Effect.void
      )
    )
    emit({ event: "ready", pid: process.pid })
    // `roles`: what the participants of this node hold (for a test to tell why a session did not end)
    yield* Effect.forkScoped(
      serve<{ readonly id: number; readonly cmd: "roles" }>(() =>
        Effect.map(Introspection.roles(system), (roles) => emit({ event: "roles", node: config.node, roles }))
      )
    )
    // the transport keeps every peer connected from then on (it dials again after a peer restarts)
    for (const peer of config.peers ?? []) yield* Effect.forkScoped(Effect.ignore(system.connect(peer.url)))
    if (!config.coordinate) return yield* Effect.never
    const ref = <const R extends "C" | "B" | "A">(role: R) =>
      Effect.gen(function* () {
        const node = config.placement?.[role] ?? system.node
        for (;;) {
          const found = yield* Effect.option(system.lookup(`/user/${role}`, Session.protocolOf(Ledger, role), { node }))
          if (Option.isSome(found)) return found.value
          yield* Effect.sleep("50 millis")
        }
      })
    const handles = [...(yield* DurableSession.recover([Ledger]))]
    emit({ event: "recovered", sessions: handles.length })
    for (let i = 0; i < config.sessions; i++) {
      const id = `s-${i}`
      const stored = yield* DurableSession.outcome(id)
      if (Option.isNone(stored)) {
        const C = yield* ref("C")
        const B = yield* ref("B")
        const A = yield* ref("A")
        handles.push(
          (yield* DurableSession.start(Ledger, {
            roles: { C, B, A },
            id,
            deadline: `${config.deadlineMs} millis`,
            ...(config.stepTimeoutMs === undefined ? {} : { stepTimeout: `${config.stepTimeoutMs} millis` })
          })) as never
        )
      } else if (stored.value._tag === "Completed")
        emit({ event: "outcome", session: id, completed: stored.value.results })
      else if (stored.value._tag === "Aborted")
        emit({ event: "outcome", session: id, aborted: stored.value.cause._tag })
    }
    yield* Effect.forEach(handles, (h) => Effect.flatMap(Effect.exit(h.await), (exit) => report(h.id, exit)), {
      concurrency: "unbounded",
      discard: true
    })
    yield* Effect.never
  }).pipe(
    Effect.provide(
      Layer.provideMerge(ActorSystem.layer({ name: config.node }), Layer.merge(storage, transport)) as Layer.Layer<
        ActorSystem.ActorSystem | Storage.Storage,
        unknown
      >
    )
  )
)
