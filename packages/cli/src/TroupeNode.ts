/**
 * A Troupe node as `troupe node` runs it: an actor system on the WebSocket transport that hosts the agents
 * of an agents module (see {@link AgentsModule}), joins its peers, runs the module's `main` hook, and
 * serves until it is interrupted (Ctrl-C) or the hook asks it to stop. Everything it started is stopped in
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
import { type LanguageModel, OpenAi, ScriptedModel, Telemetry, Turn } from "@troupe/llm"
import {
  type ActorRef,
  ActorSystem,
  Cluster,
  type Protocol,
  Receptionist,
  type RemoteAccess,
  Sharded
} from "@troupe/runtime"
import { type TransportError, WebSocket } from "@troupe/transport"
import {
  Cause,
  Console,
  Context,
  Deferred,
  Duration,
  Effect,
  Layer,
  Option,
  Redacted,
  Schema,
  type Scope,
  Stream
} from "effect"
import * as AgentsModule from "./AgentsModule.ts"
import { firstLine } from "./internal/load.ts"

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

/** A peer did not come up in time. */
export class PeerUnreachable extends Schema.TaggedError<PeerUnreachable>()("PeerUnreachable", {
  peer: Schema.String,
  waitedMillis: Schema.Number
}) {
  override get message() {
    return (
      `Could not reach ${this.peer} within ${Duration.format(Duration.millis(this.waitedMillis))}: ` +
      `start a node there (troupe node --listen <port> ...) with the same --token, or check the URL`
    )
  }
}

/** A peer refused this node for good: another secret, an id in use, a certificate not trusted. */
export class PeerRefused extends Schema.TaggedError<PeerRefused>()("PeerRefused", {
  peer: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    const hint = this.detail.startsWith("TLS")
      ? "give the CA that signed its certificate with --tls-ca, and dial the host name its certificate names"
      : this.detail.includes("IdInUse")
        ? "another live node has this --name: give this one its own"
        : this.detail.includes("secret")
          ? "give every node the same --token"
          : "check that both nodes run the same version of troupe and their settings"
    return `${this.peer} refused this node: ${this.detail}. ${hint.charAt(0).toUpperCase()}${hint.slice(1)}`
  }
}

/** The node would run without the authentication a cluster needs: no secret, or a weak one. */
export class NotSecure extends Schema.TaggedError<NotSecure>()("NotSecure", { detail: Schema.String }) {
  override get message() {
    return this.detail
  }
}

/** A peer URL cannot be dialed at all (malformed, or this node itself). */
export class InvalidPeer extends Schema.TaggedError<InvalidPeer>()("InvalidPeer", {
  peer: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Cannot join --peer ${this.peer}: ${this.detail}`
  }
}

/** An agent could not be spawned (a bad name, or its initialisation failed). */
export class AgentNotStarted extends Schema.TaggedError<AgentNotStarted>()("AgentNotStarted", {
  agent: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Agent ${this.agent} could not start: ${this.detail}`
  }
}

/** The module's `main` hook failed; `detail` is what it failed with. */
export class MainFailed extends Schema.TaggedError<MainFailed>()("MainFailed", {
  module: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The main hook of ${this.module} failed: ${this.detail}`
  }
}

/** `OPENAI_API_KEY` is set but the rest of the `OPENAI_*` configuration is wrong. */
export class ModelNotConfigured extends Schema.TaggedError<ModelNotConfigured>()("ModelNotConfigured", {
  detail: Schema.String
}) {
  override get message() {
    return `The OPENAI_* configuration is wrong: ${this.detail}`
  }
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

const noModel = ScriptedModel.layer(() =>
  Turn.error(401, {
    message: "no language model: set OPENAI_API_KEY, or give this agent a script (see docs/cli.md)"
  })
)

/** Which model the agents get: the configured OpenAI-compatible one, or a scripted one per script. */
const models = Effect.fnUntraced(function* (module: AgentsModule.AgentsModule) {
  const build = (layer: Layer.Layer<LanguageModel.LanguageModel, unknown>) =>
    Effect.mapError(Layer.build(layer), (error) => new ModelNotConfigured({ detail: firstLine(error) }))
  if (process.env.OPENAI_API_KEY !== undefined && process.env.OPENAI_API_KEY !== "") {
    const real = yield* build(OpenAi.layerConfig())
    yield* Console.log(`  model: ${process.env.OPENAI_MODEL ?? "gpt-4.1-mini"} (OpenAI-compatible, from OPENAI_*)`)
    return { forNode: real, forAgent: (_: AgentsModule.AgentSpec) => Effect.succeed(real) }
  }
  const scripted = (script: Turn.Script | undefined) =>
    build(script === undefined ? noModel : ScriptedModel.layer(script))
  yield* Console.log("  model: scripted (set OPENAI_API_KEY to use a real one)")
  const forNode = yield* scripted(module.script)
  return {
    forNode,
    forAgent: (spec: AgentsModule.AgentSpec) =>
      spec.script === undefined ? Effect.succeed(forNode) : scripted(spec.script)
  }
})

/** Runs `attempt` every 100 ms until it finds something; fails with `NotReady` after `timeout` (default 30 s). */
const poll = <A, E>(
  what: string,
  attempt: Effect.Effect<Option.Option<A>, E>,
  timeout: Duration.Input = "30 seconds",
  why: Effect.Effect<string | undefined> = Effect.succeed(undefined)
): Effect.Effect<A, E | AgentsModule.NotReady> => {
  const loop: Effect.Effect<A, E> = Effect.flatMap(attempt, (found) =>
    Option.isSome(found) ? Effect.succeed(found.value) : Effect.andThen(Effect.sleep("100 millis"), loop)
  )
  return Effect.timeoutOrElse(loop, {
    duration: timeout,
    orElse: () =>
      Effect.flatMap(why, (reason) =>
        Effect.fail(
          new AgentsModule.NotReady({
            what,
            waitedMillis: Duration.toMillis(Duration.fromInputUnsafe(timeout)),
            ...(reason === undefined ? {} : { reason })
          })
        )
      )
  })
}

/** Joins a peer, saying so while it waits. */
const join = (system: ActorSystem.ActorSystemService, peer: string, timeout: Duration.Duration) =>
  Effect.gen(function* () {
    const connect = system.connect(peer).pipe(
      Effect.mapError((error) =>
        error.reason === "refused"
          ? new PeerRefused({ peer, detail: error.detail })
          : new InvalidPeer({ peer, detail: error.detail })
      ),
      Effect.timeoutOption(timeout)
    )
    const quick = yield* Effect.timeoutOption(connect, "1 second")
    const joined = Option.isSome(quick)
      ? quick.value
      : yield* Console.log(
          `  waiting for ${peer} (retrying until it is up, for up to ${Duration.format(timeout)})`
        ).pipe(Effect.andThen(connect))
    if (Option.isNone(joined)) {
      return yield* new PeerUnreachable({ peer, waitedMillis: Duration.toMillis(timeout) })
    }
    return joined.value
  })

type Models = Effect.Success<ReturnType<typeof models>>

/** Spawns the module's agents as `/user/<name>`, each with its model, and registers those that ask for it. */
const spawnAgents = Effect.fnUntraced(function* (
  system: ActorSystem.ActorSystemService,
  module: AgentsModule.AgentsModule,
  model: Models
) {
  const agents: Record<string, ActorRef.ActorRef<Protocol.Any>> = {}
  for (const [agent, spec] of module.agents) {
    const context: Context.Context<LanguageModel.LanguageModel> = yield* model.forAgent(spec)
    const ref = yield* system
      .spawn(spec.behavior, {
        name: agent,
        ...(spec.mailbox === undefined ? {} : { mailbox: spec.mailbox }),
        ...(spec.restart === undefined ? {} : { restart: spec.restart }),
        ...(spec.shutdownTimeout === undefined ? {} : { shutdownTimeout: spec.shutdownTimeout })
      })
      .pipe(
        Effect.provide(context),
        Effect.mapError((error) => new AgentNotStarted({ agent, detail: error.message }))
      )
    agents[agent] = ref
    if (spec.register !== undefined) {
      yield* Receptionist.register(spec.register, ref).pipe(Effect.provideService(ActorSystem.ActorSystem, system))
    }
    const registered = spec.register === undefined ? "" : `, registered as "${spec.register.id}"`
    yield* Console.log(`  agent ${ref.path} (${spec.behavior.protocol.name})${registered}`)
  }
  return agents
})

/** What the hook gets. */
const nodeContext = (
  system: ActorSystem.ActorSystemService,
  peers: ReadonlyArray<string>,
  agents: Readonly<Record<string, ActorRef.ActorRef<Protocol.Any>>>,
  stop: Deferred.Deferred<void>
): AgentsModule.NodeContext => ({
  node: system.node,
  address: system.address,
  peers,
  system,
  agents,
  awaitNode: (id, wait) =>
    poll(
      `node ${id}`,
      Effect.map(system.nodes, (nodes) => (nodes.includes(id) ? Option.some(id) : Option.none())),
      wait?.timeout
    ).pipe(Effect.asVoid),
  awaitActor: (path, protocol, wait) =>
    poll(
      `actor ${path} on ${wait?.node ?? system.node}`,
      system.lookup(path, protocol, wait?.node === undefined ? {} : { node: wait.node }).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (error) => error.reason !== "protocol-mismatch",
          () => Effect.succeedNone
        )
      ),
      wait?.timeout,
      // an actor of a node this one has no link to cannot be there: say why
      Effect.map(system.nodes, (nodes) =>
        wait?.node === undefined || wait.node === system.node || nodes.includes(wait.node)
          ? undefined
          : `node ${wait.node} has no link to node ${system.node} (linked: ${nodes.join(", ") || "none"}). ` +
            `Nodes link to the members they learn only when those listen at an address they can dial ` +
            `(troupe node --listen, and --advertise when the listening URL is not it)`
      )
    ),
  shutdown: Deferred.succeed(stop, undefined).pipe(Effect.asVoid)
})

const MIN_SECRET = 16

/** The node's authentication, checked: a secret of at least 16 characters, mutual TLS, or the insecure flag. */
const authentication = (options: Options) => {
  const token =
    options.token === undefined
      ? undefined
      : Redacted.isRedacted(options.token)
        ? Redacted.value(options.token)
        : options.token
  const tls = options.tls
  const mutual = tls?.cert !== undefined && tls.key !== undefined && tls.ca !== undefined
  if (token !== undefined && options.insecureNoAuth === true) {
    return Effect.fail(new NotSecure({ detail: "Give --token or --insecure-no-auth, not both" }))
  }
  if (token === undefined && !mutual && options.insecureNoAuth !== true) {
    return Effect.fail(
      new NotSecure({
        detail:
          "No secret: give every node the same --token (or TROUPE_TOKEN) of at least 16 characters, e.g. " +
          "the output of `openssl rand -hex 16`; or --insecure-no-auth to run an open node for an experiment on this machine"
      })
    )
  }
  if (token !== undefined && token.length < MIN_SECRET) {
    const what = token === "" ? "is empty (is the variable you meant set?)" : `has ${token.length} characters`
    return Effect.fail(
      new NotSecure({
        detail: `The --token (or TROUPE_TOKEN) ${what}: use at least ${MIN_SECRET}, e.g. the output of \`openssl rand -hex 16\``
      })
    )
  }
  return Effect.succeed({
    ...(token === undefined ? { insecureNoAuth: !mutual } : { secret: token }),
    ...(tls === undefined ? {} : { tls })
  })
}

/** A policy that also lets peers reach `paths` (the node's own infrastructure, such as its inspector). */
const reachable = (access: RemoteAccess.RemoteAccess, paths: ReadonlyArray<string>): RemoteAccess.RemoteAccess =>
  access.reach === undefined || access.reach === "all" ? access : { ...access, reach: [...access.reach, ...paths] }

/** The node as a cluster runner: the module's sharded types on the cluster at `options.url`. */
const runner = (
  system: ActorSystem.ActorSystemService,
  module: AgentsModule.AgentsModule,
  options: NonNullable<Options["cluster"]>
) =>
  Effect.gen(function* () {
    if (module.sharded.length === 0) {
      return yield* new ClusterFailed({ detail: `${module.module} exports no \`sharded\` types to host` })
    }
    const [first, ...rest] = module.sharded.map((type) => Sharded.layer(type))
    const layer = Layer.mergeAll(first!, ...rest).pipe(
      Layer.provideMerge(
        Cluster.layerFromUrl(options.url, {
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.port === undefined ? {} : { port: options.port })
        })
      ),
      Layer.provide(Layer.succeed(ActorSystem.ActorSystem, system))
    )
    const context = yield* Layer.build(layer).pipe(
      Effect.mapError((error) => new ClusterFailed({ detail: firstLine(error) }))
    )
    yield* Console.log(
      `  cluster runner on ${options.url.replace(/\/\/[^@]*@/, "//")}: ${module.sharded.map((t) => t.name).join(", ")}`
    )
    return context
  })

/** The node could not join its cluster. */
export class ClusterFailed extends Schema.TaggedError<ClusterFailed>()("ClusterFailed", { detail: Schema.String }) {
  override get message() {
    return `Cannot run as a cluster runner: ${this.detail}`
  }
}

/** Runs a node until it is interrupted, or until the module's hook calls `node.shutdown`. */
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

    const timeout = Duration.fromInputUnsafe(options.peerTimeout ?? "2 minutes")
    const peers = yield* Effect.forEach(options.peers, (peer) => join(system, peer, timeout), {
      concurrency: "unbounded"
    })
    const joined = peers.map((peer, i) => `${peer} at ${options.peers[i]}`).join(", ")
    yield* Console.log(`ready: ${system.node} is up${joined === "" ? "" : `; peers: ${joined}`}. Ctrl-C stops it.`)

    const stop = yield* Deferred.make<void>()
    if (module.main !== undefined) {
      yield* module.main(nodeContext(system, peers, agents, stop)).pipe(
        Effect.provideService(ActorSystem.ActorSystem, system),
        Effect.provideContext(cluster as Context.Context<never>),
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
