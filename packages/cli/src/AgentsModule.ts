/**
 * The agents module: what `troupe node --agents <module>` hosts. A module is a TypeScript (or JavaScript)
 * file with these named exports, all optional but at least one of `agents` and `main`:
 *
 * - `agents`: a record of name → behaviour (`Behavior.make`, `Agent.make`, `Supervisor.make`, ...). Each is
 *   spawned as `/user/<name>` when the node starts, before it joins its peers. Wrap one in {@link agent} to
 *   register it with the receptionist, give it its own scripted model, or choose its mailbox.
 * - `script`: the turns of a scripted model (`Turn.text`, `Turn.toolCall`, ... or a function of the request),
 *   for the agents that have none of their own, when no real model is configured.
 * - `sharded`: a list of sharded actor types (`Sharded.make`), hosted when the node runs with
 *   `--cluster <database url>`: the node is then also a runner of that cluster (see docs/cluster.md).
 * - `main`: a hook run once the node is up and connected to every `--peer`: a function of the
 *   {@link NodeContext} returning an Effect. It can wait for other nodes and actors, ask them, start a
 *   session. The node keeps running when it returns (until Ctrl-C), unless it calls `node.shutdown`; when
 *   it fails, the node stops with its error.
 *
 * The language model: when `OPENAI_API_KEY` is set, every agent and the hook get the OpenAI-compatible
 * model configured by `OPENAI_*` variables (see `OpenAi.layerConfig`); otherwise each agent gets a
 * scripted model playing its own script or the module's `script`. An agent with no script then fails its
 * model calls with a message saying so.
 *
 * @example
 * ```ts
 * // agents.ts — run with: pnpm troupe node --listen 7000 --token s3cret --agents agents.ts
 * import { AgentsModule } from "@troupe/cli"
 * import { Agent, Turn } from "@troupe/llm"
 * import { Effect } from "effect"
 *
 * export const agents = {
 *   greeter,                                                     // a Behavior, spawned as /user/greeter
 *   assistant: AgentsModule.agent(Agent.make({ name: "assistant", system: "Be brief." }), {
 *     register: Assistants,                                      // a Receptionist key
 *     script: [Turn.text("Hello!")]                              // its own scripted model
 *   })
 * }
 *
 * export const main: AgentsModule.Main = (node) =>
 *   Effect.gen(function* () {
 *     const remote = yield* node.awaitActor("/user/greeter", Greeter, { node: node.peers[0] })
 *     console.log(yield* remote.ask(Greeter.Greet({ name: node.node })))
 *   })
 * ```
 */
import type { LanguageModel, Turn } from "@troupe/llm"
import type {
  ActorRef,
  ActorSystem,
  Behavior,
  Mailbox,
  Protocol,
  Receptionist,
  RemoteAccess,
  Sharded,
  Supervisor
} from "@troupe/runtime"
import { type Duration, Effect, type Option, Result, Schema, type Scope } from "effect"
import { describeFailure, type ImportFailed, importModule } from "./internal/load.ts"

/** An agent of the module, with how it is spawned. Make one with {@link agent}. */
export interface AgentSpec {
  readonly _tag: "AgentSpec"
  readonly behavior: Behavior.Behavior<Protocol.Any, unknown, LanguageModel.LanguageModel>
  /** Registered with the receptionist under this key once spawned. */
  readonly register: Receptionist.ServiceKey<Protocol.Any> | undefined
  /** Its own scripted model, used when no real model is configured. */
  readonly script: Turn.Script | undefined
  readonly mailbox: Mailbox.Config | undefined
  readonly restart: Supervisor.RestartPolicy | undefined
  readonly shutdownTimeout: Duration.Input | undefined
}

/**
 * An agent with options: `register` it with the receptionist under a key (so that other nodes find it with
 * `Receptionist.find`), give it its own `script` (the turns of its scripted model), its `mailbox`, its
 * `restart` policy or `shutdownTimeout`. Its behaviour may need a `LanguageModel`, which the node provides.
 */
export const agent = <P extends Protocol.Any, S>(
  behavior: Behavior.Behavior<P, S, LanguageModel.LanguageModel>,
  options: {
    readonly register?: Receptionist.ServiceKey<P> | undefined
    readonly script?: Turn.Script | undefined
    readonly mailbox?: Mailbox.Config | undefined
    readonly restart?: Supervisor.RestartPolicy | undefined
    readonly shutdownTimeout?: Duration.Input | undefined
  } = {}
): AgentSpec => ({
  _tag: "AgentSpec",
  behavior: behavior as unknown as AgentSpec["behavior"],
  register: options.register,
  script: options.script,
  mailbox: options.mailbox,
  restart: options.restart,
  shutdownTimeout: options.shutdownTimeout
})

/** What the `main` hook gets: the running node, and ways to wait for the rest of the cluster. */
export interface NodeContext {
  /** This node's id (`--name`). */
  readonly node: string
  /** The URL this node listens on, when it listens. */
  readonly address: Option.Option<string>
  /** The node ids of the `--peer`s, in the order given; all connected when the hook starts. */
  readonly peers: ReadonlyArray<string>
  /** The node's actor system (also in the hook's context as `ActorSystem.ActorSystem`). */
  readonly system: ActorSystem.ActorSystemService
  /** The module's agents on this node, by name. */
  readonly agents: Readonly<Record<string, ActorRef.ActorRef<Protocol.Any>>>
  /** Waits until a node is connected (one that dials this node, say); fails after `timeout` (default 30 s). */
  awaitNode(node: string, options?: { readonly timeout?: Duration.Input }): Effect.Effect<void, NotReady>
  /**
   * Looks an actor up, here or on `node`, retrying until it is there; fails after `timeout` (default 30 s),
   * or at once if the actor there speaks another protocol.
   */
  awaitActor<P extends Protocol.Any>(
    path: string,
    protocol: P,
    options?: { readonly node?: string; readonly timeout?: Duration.Input }
  ): Effect.Effect<ActorRef.ActorRef<P>, NotReady | ActorSystem.ActorNotFound>
  /** Stops the node gracefully once the hook returns, as Ctrl-C would (exit code 0). */
  readonly shutdown: Effect.Effect<void>
}

/**
 * The `main` hook of an agents module. Its Effect may use the `ActorSystem`, the `LanguageModel` and the
 * node's `Scope` (resources acquired there are released when the node stops).
 */
export type Main = (
  node: NodeContext
) => Effect.Effect<unknown, unknown, ActorSystem.ActorSystem | LanguageModel.LanguageModel | Scope.Scope>

/** An agents module as loaded: its agents (each as an {@link AgentSpec}), its script and its hook. */
export interface AgentsModule {
  /** The module as given on the command line. */
  readonly module: string
  readonly agents: ReadonlyArray<readonly [name: string, spec: AgentSpec]>
  readonly script: Turn.Script | undefined
  readonly main: Main | undefined
  /** The sharded types it hosts when the node is a cluster runner (`--cluster`). */
  readonly sharded: ReadonlyArray<Sharded.Sharded<Protocol.Any, never>>
  /** What other nodes may do on this node, when the module says (see {@link remoteAccess}). */
  readonly access: RemoteAccess.RemoteAccess | undefined
}

/**
 * What other nodes may do on a node hosting this module: reach its agents (and the actors under them) by
 * path, and list their actors under the receptionist keys its agents register under; no topic. The
 * module's `access` export replaces any of these three fields (`"all"` opens one up). Actors the node
 * revealed to a peer (the sender of a message, a ref inside one) and those it lists stay reachable. The
 * `access` export may also raise `maxListingsPerNode` (how many listings each peer node may keep here), `maxListings`
 * (all peer nodes together), `maxJoinsNotBegun` (sessions of other nodes joined and not begun here) and `maxSessions`
 * (sessions of other nodes held here, begun or not).
 */
export const remoteAccess = (module: AgentsModule): RemoteAccess.RemoteAccess => ({
  reach: module.agents.map(([name]) => `/user/${name}/*`),
  register: [...new Set(module.agents.flatMap(([, spec]) => (spec.register === undefined ? [] : [spec.register.id])))],
  subscribe: [],
  ...module.access
})

const Listings = Schema.Union([
  Schema.Literal("all"),
  Schema.Array(Schema.String),
  Schema.Record(Schema.String, Schema.Array(Schema.String))
])
const Access = Schema.Struct({
  reach: Schema.optionalKey(Schema.Union([Schema.Literal("all"), Schema.Array(Schema.String)])),
  register: Schema.optionalKey(Listings),
  subscribe: Schema.optionalKey(Listings),
  maxListingsPerNode: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  maxListings: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  maxJoinsNotBegun: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  maxSessions: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)))
})
const decodeAccess = Schema.decodeUnknownResult(Access)

/**
 * A node, or an actor, was not there in time; `reason` says why when it is known (its node has no link
 * to this one).
 */
export class NotReady extends Schema.TaggedError<NotReady>()("NotReady", {
  what: Schema.String,
  waitedMillis: Schema.Number,
  reason: Schema.optionalKey(Schema.String)
}) {
  override get message() {
    return this.reason === undefined
      ? `${this.what} was not there after ${this.waitedMillis / 1000} s`
      : `${this.what} could not be reached after ${this.waitedMillis / 1000} s: ${this.reason}`
  }
}

/**
 * The module could not be imported: the file is missing, it (or a module it imports) does not parse, or it
 * threw while loading. `reason` starts with where (`agents.ts:3:8: SyntaxError: ...`) when that is known, and
 * `file`, `line` and `column` say it too.
 */
export class ModuleNotLoaded extends Schema.TaggedError<ModuleNotLoaded>()("ModuleNotLoaded", {
  module: Schema.String,
  reason: Schema.String,
  file: Schema.optionalKey(Schema.String),
  line: Schema.optionalKey(Schema.Number),
  column: Schema.optionalKey(Schema.Number)
}) {
  override get message() {
    return `Cannot load ${this.module}: ${this.reason}`
  }
}

/** The module loaded, but its exports are not what the command needs; `reason` says what to export. */
export class ModuleUnusable extends Schema.TaggedError<ModuleUnusable>()("ModuleUnusable", {
  module: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.module} ${this.reason} (see docs/cli.md)`
  }
}

/** @internal A failed import as the error users see. */
export const notLoaded = (failed: ImportFailed): ModuleNotLoaded =>
  new ModuleNotLoaded({ module: failed.module, reason: describeFailure(failed), ...failed.location })

const isBehavior = (u: unknown): u is AgentSpec["behavior"] =>
  typeof u === "object" &&
  u !== null &&
  "protocol" in u &&
  "receive" in u &&
  typeof u.receive === "object" &&
  typeof (u.protocol as { readonly name?: unknown } | null)?.name === "string"

const isShardedType = (u: unknown): boolean =>
  typeof u === "object" &&
  u !== null &&
  "entity" in u &&
  "kind" in u &&
  typeof (u as { name?: unknown }).name === "string"

const isScript = (u: unknown): u is Turn.Script => Array.isArray(u) || typeof u === "function"

const describe = (u: unknown) => (u === null ? "null" : Array.isArray(u) ? "an array" : typeof u)

/** Loads an agents module and checks its exports. */
export const load = (module: string): Effect.Effect<AgentsModule, ModuleNotLoaded | ModuleUnusable> =>
  Effect.flatMap(Effect.mapError(importModule(module), notLoaded), (exports) => {
    const unusable = (reason: string) => Effect.fail(new ModuleUnusable({ module, reason }))
    const { agents = {}, script, main, access, sharded = [] } = exports
    if (exports.agents === undefined && main === undefined && exports.sharded === undefined) {
      return unusable("exports neither `agents` (a record of name → behaviour), `sharded` nor a `main` hook")
    }
    if (!Array.isArray(sharded) || !sharded.every(isShardedType)) {
      return unusable(`exports \`sharded\` as ${describe(sharded)}: it must be a list of Sharded.make types`)
    }
    if (typeof agents !== "object" || agents === null || Array.isArray(agents)) {
      return unusable(`exports \`agents\` as ${describe(agents)}: it must be a record of name → behaviour`)
    }
    const specs: Array<readonly [string, AgentSpec]> = []
    for (const [name, value] of Object.entries(agents)) {
      if (isBehavior(value)) specs.push([name, agent(value)])
      else if ((value as Partial<AgentSpec> | null)?._tag === "AgentSpec") specs.push([name, value as AgentSpec])
      else return unusable(`exports \`agents.${name}\` as ${describe(value)}: make it with Behavior.make or Agent.make`)
    }
    if (script !== undefined && !isScript(script)) {
      return unusable(`exports \`script\` as ${describe(script)}: it must be a list of turns or a function`)
    }
    if (main !== undefined && typeof main !== "function") {
      return unusable(`exports \`main\` as ${describe(main)}: it must be a function of the node, returning an Effect`)
    }
    const policy = access === undefined ? undefined : decodeAccess(access)
    if (policy !== undefined && Result.isFailure(policy)) {
      // one line: where in the export, and what was expected there, as the transport reads a Schema issue (imported
      // here: a module that loads well is checked without loading the transport)
      const issue = policy.failure.issue
      return Effect.flatMap(
        Effect.promise(() => import("@troupe/transport")),
        ({ Envelope }) => {
          const { field, message } = Envelope.describeIssue(issue)
          return unusable(
            `exports \`access\` that is not a remote access policy ({ reach?, register?, subscribe?, maxListingsPerNode?, maxListings?, maxJoinsNotBegun?, maxSessions? }): ` +
              `${field === "" ? "" : `at access.${field}, `}${message.charAt(0).toLowerCase()}${message.slice(1)}`
          )
        }
      )
    }
    return Effect.succeed({
      module,
      agents: specs,
      script,
      main: main as Main | undefined,
      sharded: sharded as ReadonlyArray<Sharded.Sharded<Protocol.Any, never>>,
      access: policy?.success as RemoteAccess.RemoteAccess | undefined
    })
  })
