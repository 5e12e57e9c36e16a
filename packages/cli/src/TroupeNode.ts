/**
 * A Troupe node as `troupe node` runs it: an actor system on the WebSocket transport that hosts the agents
 * of an agents module (see {@link AgentsModule}), joins its peers, runs the module's `main` hook, and
 * serves until it is interrupted (Ctrl-C), the hook asks it to stop, or another process took its node name over on a
 * storage of its durable work (`NodeTakenOver`). Everything it started is stopped in
 * order when its scope closes: the agents (their finalizers run), then the transport, which says goodbye
 * to the peers.
 *
 * It reports what it does on the console, one line per step: where it listens, which model its agents
 * use, each agent spawned, each peer waited for and joined.
 *
 * @example
 * ```ts
 * NodeRuntime.runMain(
 *   Effect.scoped(TroupeNode.run({ agents: "./agents.ts", listen: { port: 7000 }, peers: [], token: "s3cret" }))
 * )
 * ```
 */

import { Inspector } from "@troupe/inspector"
import { Telemetry } from "@troupe/llm"
import { ActorSystem, Durations, type SystemEvent } from "@troupe/runtime"
import { type TransportError, WebSocket } from "@troupe/transport"
import {
  Cause,
  Console,
  Context,
  Deferred,
  type Duration,
  Effect,
  Layer,
  Option,
  type Redacted,
  type Scope,
  Stream
} from "effect"
import * as AgentsModule from "./AgentsModule.ts"
import { firstLine } from "./internal/load.ts"
import { models, runner, spawnAgents } from "./internal/nodeAgents.ts"
import {
  type AgentNotStarted,
  type ClusterFailed,
  InvalidPeer,
  MainFailed,
  type ModelNotConfigured,
  NodeTakenOver,
  type NotSecure,
  type PeerRefused,
  type PeerUnreachable
} from "./internal/nodeErrors.ts"
import { nodeContext } from "./internal/nodeHook.ts"
import { authentication, join, reachable } from "./internal/nodePeers.ts"

export {
  AgentNotStarted,
  ClusterFailed,
  InvalidPeer,
  MainFailed,
  ModelNotConfigured,
  NodeTakenOver,
  NotSecure,
  PeerRefused,
  PeerUnreachable
} from "./internal/nodeErrors.ts"

/** How to run a node. */
export interface Options {
  /** The agents module: a path, relative to the current directory (see docs/cli.md). */
  readonly agents: string
  /**
   * Also be a runner of the cluster on this database (`postgres://…`, or a SQLite file), hosting the module's
   * `sharded` types; `host`/`port` are where other runners reach this one (PostgreSQL only).
   */
  readonly cluster?:
    | { readonly url: string; readonly host?: string | undefined; readonly port?: number | undefined }
    | undefined
  /** Where to accept peers; leave it out for a node that only dials. Host default `127.0.0.1`. */
  readonly listen?: { readonly port: number; readonly host?: string | undefined } | undefined
  /** The URL to tell peers when the listening one is not what they should dial (behind a proxy, on 0.0.0.0). */
  readonly advertise?: string | undefined
  /** The URLs of the nodes to join (`ws://host:port` or `wss://`); each is retried until it is up. */
  readonly peers: ReadonlyArray<string>
  /** The shared secret, at least 16 characters: every node of the cluster has the same one. */
  readonly token?: string | Redacted.Redacted<string> | undefined
  /** Run without a secret (any peer that reaches the node may join): for experiments on one machine. */
  readonly insecureNoAuth?: boolean | undefined
  /**
   * TLS, in PEM: with `cert` and `key` the node listens on `wss://` and presents them when it dials;
   * `ca` is the authority that signs the nodes' certificates, and with all three TLS is mutual (each
   * node's id must be its certificate's subject CN).
   */
  readonly tls?:
    | { readonly cert?: string | undefined; readonly key?: string | undefined; readonly ca?: string | undefined }
    | undefined
  /** This node's id; default `node-<port>`, or a random one when it does not listen on a fixed port. */
  readonly name?: string | undefined
  /** How long to wait for each peer before giving up. Default 2 minutes. */
  readonly peerTimeout?: Duration.Input | undefined
  /**
   * Serve the live inspector on this port (0 picks a free one); host default `127.0.0.1`. With a `token`,
   * whoever opens the URL it prints can act (stop actors, cancel sessions, answer questions); without, it only shows.
   */
  readonly inspect?:
    | {
        readonly port: number
        readonly host?: string | undefined
        readonly token?: string | Redacted.Redacted<string> | undefined
      }
    | undefined
}

/** Why a node stops with an error. */
export type NodeError =
  | ClusterFailed
  | Inspector.InspectorError
  | AgentsModule.ModuleNotLoaded
  | AgentsModule.ModuleUnusable
  | TransportError.TransportStartError
  | PeerUnreachable
  | PeerRefused
  | NotSecure
  | InvalidPeer
  | AgentNotStarted
  | MainFailed
  | ModelNotConfigured
  | NodeTakenOver
  | ActorSystem.InvalidSystemOptions

/**
 * Fails with `NodeTakenOver` once the node's durable work was stopped (`DurableStopped`: another process took its node
 * name over on a storage, whichever: the main hook's own too); never ends otherwise.
 */
const takenOver = (events: Stream.Stream<SystemEvent.SystemEvent>): Effect.Effect<never, NodeTakenOver> =>
  Stream.runHead(Stream.filter(events, (e): e is SystemEvent.DurableStopped => e._tag === "DurableStopped")).pipe(
    Effect.flatMap(
      Option.match({
        onNone: () => Effect.never,
        onSome: ({ error }) =>
          Effect.fail(
            new NodeTakenOver({
              node: error.node,
              location: error.location,
              ...(error.holder === undefined
                ? {}
                : { holder: `process ${error.holder.pid} on host ${error.holder.host}` })
            })
          )
      })
    )
  )

/**
 * Runs a node until it is interrupted, or until the module's hook calls `node.shutdown`, or until another process
 * took its node name over on a storage of its durable work (it fails with `NodeTakenOver`).
 */
export const run: (options: Options) => Effect.Effect<void, NodeError, Scope.Scope> = Effect.fn("TroupeNode.run")(
  function* (options: Options) {
    const security = yield* authentication(options)
    const module = yield* AgentsModule.load(options.agents)
    const name =
      options.name ??
      (options.listen !== undefined && options.listen.port > 0 ? `node-${options.listen.port}` : undefined)
    yield* Effect.addFinalizer(() => Console.log("stopped."))
    const system = yield* ActorSystem.make({
      ...(name === undefined ? {} : { name }),
      remoteAccess: reachable(
        AgentsModule.remoteAccess(module),
        options.inspect === undefined ? [] : [Inspector.actorPath]
      ),
      transport: WebSocket.layer({
        ...(name === undefined ? {} : { node: name }),
        ...security,
        ...(options.listen === undefined ? {} : { listen: options.listen }),
        ...(options.advertise === undefined ? {} : { advertisedUrl: options.advertise })
      })
    })
    yield* Effect.addFinalizer(() => Console.log(`shutting down ${system.node}...`))
    yield* Console.log(`troupe node ${system.node}`)
    // whatever storage the node's durable work is on (the hook brings its own), the node stops once it is fenced
    const fenced = yield* system.subscribe
    return yield* Effect.raceFirst(serve(options, module, system), takenOver(fenced))
  },
  // Spans and metrics go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and nowhere otherwise.
  (node, options) =>
    Layer.build(Telemetry.layerOtlpConfig({ serviceName: options.name ?? "troupe-node" })).pipe(
      Effect.catchTag("ConfigError", (error) =>
        Effect.as(Console.error(`no OpenTelemetry export: ${error.message}`), Context.empty())
      ),
      Effect.flatMap((otlp) => Effect.provideContext(node, otlp))
    )
)

/** The node's work once its actor system runs: agents, cluster, peers, the hook; until it is asked to stop. */
const serve = Effect.fnUntraced(function* (
  options: Options,
  module: AgentsModule.AgentsModule,
  system: ActorSystem.ActorSystemService
) {
  const events = yield* system.subscribe
  yield* Effect.forkScoped(
    Stream.runForEach(events, (event) =>
      event._tag === "NodeUp"
        ? Console.log(`  node ${event.node} joined`)
        : event._tag === "NodeDown"
          ? Console.log(`  node ${event.node} left (${event.reason})`)
          : Effect.void
    )
  )
  if (Option.isSome(system.address)) yield* Console.log(`  listening on ${system.address.value}`)
  if (options.inspect !== undefined) {
    const inspector = yield* Inspector.start(system, options.inspect)
    yield* Console.log(
      `  inspector: ${inspector.url}${options.inspect.token === undefined ? " (read-only: --inspect-token lets it act)" : ""}`
    )
  }
  const model = yield* models(module)
  const agents = yield* spawnAgents(system, module, model)
  const cluster = options.cluster === undefined ? Context.empty() : yield* runner(system, module, options.cluster)

  const timeout = Durations.durationOf(options.peerTimeout ?? "2 minutes")
  if (timeout === undefined) {
    const bad = Durations.badDuration([["peerTimeout", options.peerTimeout]])
    return yield* new InvalidPeer({
      peer: options.peers.join(" "),
      detail: `the option ${bad?.option} ${bad?.detail}`
    })
  }
  const peers = yield* Effect.forEach(options.peers, (peer) => join(system, peer, timeout), {
    concurrency: "unbounded"
  })
  const joined = peers.map((peer, i) => `${peer} at ${options.peers[i]}`).join(", ")
  yield* Console.log(`ready: ${system.node} is up${joined === "" ? "" : `; peers: ${joined}`}. Ctrl-C stops it.`)

  const stop = yield* Deferred.make<void>()
  if (module.main !== undefined) {
    yield* module.main(nodeContext(system, peers, agents, stop)).pipe(
      Effect.provideService(ActorSystem.ActorSystem, system),
      Effect.provideContext(cluster),
      Effect.provide(model.forNode),
      Effect.catchCause((cause) => {
        if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
        const error = Cause.squash(cause)
        return Effect.logDebug("main failed", cause).pipe(
          Effect.andThen(Effect.fail(new MainFailed({ module: module.module, detail: firstLine(error) })))
        )
      })
    )
  }
  yield* Deferred.await(stop)
})
