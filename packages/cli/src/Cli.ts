/**
 * The `troupe` command line: `troupe node` runs a node hosting the agents of a module, and
 * `troupe protocol check|project|diagram` checks, projects and draws the choreography protocols a module
 * exports. The guide is docs/cli.md.
 *
 * Errors a user can fix (a bad flag, a module that does not load or exports nothing usable, a peer that
 * never comes up) are one line on stderr that says what to do, and exit code 1. A node stopped with
 * Ctrl-C shuts down gracefully and exits with 0 (see `bin.ts`).
 *
 * @example
 * ```ts
 * // bin.ts
 * NodeRuntime.runMain(Cli.run(process.argv.slice(2)))
 * ```
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { NodeId } from "@troupe/transport"
import { Config, Console, Effect, Layer, Logger, Option, Redacted, References, Schema } from "effect"
import { Argument, CliError, CliOutput, Command, Flag } from "effect/cli"
import { game, simulate } from "./internal/gameCommands.ts"
import { firstLine, resolvePath } from "./internal/load.ts"
import { AlreadyReported, userError } from "./internal/userError.ts"
import * as ProtocolModule from "./ProtocolModule.ts"

/** The CLI's version: its package's (the same from `src/` in the repository and from `dist/` once installed). */
export const version: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { readonly version: string }
).version

/** A file or directory could not be written. */
class CannotWrite extends Schema.TaggedError<CannotWrite>()("CannotWrite", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Cannot write ${this.path}: ${this.detail}`
  }
}

const moduleArgument = Argument.String("module").pipe(
  Argument.withDescription("A .ts or .js file exporting choreography protocols")
)
const protocolFlag = Flag.String("protocol").pipe(
  Flag.withDescription("Only the protocol with this name, when the module exports several"),
  Flag.optional
)

/** The protocols of the module (only the one asked for, with `--protocol`). */
const protocols = (module: string, protocol: Option.Option<string>) =>
  ProtocolModule.load(module, { protocol: Option.getOrUndefined(protocol) })

/** Prints a report; exit code 1 (and nothing more said) when a protocol is ill-formed. */
const report = (text: string, found: ReadonlyArray<ProtocolModule.Found>) =>
  Console.log(text).pipe(Effect.andThen(ProtocolModule.allWellFormed(found) ? Effect.void : new AlreadyReported()))

const isWsUrl = (url: string) => /^wss?:\/\//.test(url) && URL.canParse(url)

const node = Command.make(
  "node",
  {
    listen: Flag.Int("listen").pipe(
      Flag.withDescription("Port to accept peers on (0 picks a free one); leave it out for a node that only dials"),
      Flag.filter(
        (port) => port >= 0 && port <= 65535,
        (port) => `${port} is not a port: use 0 to 65535`
      ),
      Flag.optional
    ),
    host: Flag.String("host").pipe(
      Flag.withDescription("Address to listen on: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"),
      Flag.withDefault("127.0.0.1")
    ),
    peer: Flag.String("peer").pipe(
      Flag.withDescription("URL of a node to join, e.g. ws://10.0.0.2:7000; repeat for several. Retried until up"),
      Flag.filter(isWsUrl, (url) => `${url} is not a ws:// or wss:// URL`),
      Flag.atLeast(0)
    ),
    token: Flag.Redacted("token").pipe(
      Flag.withDescription(
        "Shared secret (16+ characters, e.g. `openssl rand -hex 16`): every node has the same one. Default: TROUPE_TOKEN"
      ),
      Flag.withFallbackConfig(Config.Redacted("TROUPE_TOKEN")),
      Flag.optional
    ),
    insecureNoAuth: Flag.Boolean("insecure-no-auth").pipe(
      Flag.withDescription("Run without a secret: any peer that reaches this node may join. For experiments only"),
      Flag.withDefault(false)
    ),
    tlsCert: Flag.FileText("tls-cert").pipe(
      Flag.withDescription("This node's TLS certificate (PEM): it listens on wss:// and presents it when dialing"),
      Flag.optional
    ),
    tlsKey: Flag.FileText("tls-key").pipe(Flag.withDescription("The private key of --tls-cert (PEM)"), Flag.optional),
    tlsCa: Flag.FileText("tls-ca").pipe(
      Flag.withDescription(
        "The CA that signs the nodes' certificates (PEM); with --tls-cert, TLS is mutual and node ids are certificate CNs"
      ),
      Flag.optional
    ),
    cluster: Flag.String("cluster").pipe(
      Flag.withDescription(
        "Also be a runner of the cluster on this database (postgres://user:password@host:port/db, or a SQLite file), hosting the module's `sharded` types"
      ),
      Flag.optional
    ),
    clusterPort: Flag.Int("cluster-port").pipe(
      Flag.withDescription("Port other runners reach this one on (PostgreSQL clusters; default 34431)"),
      Flag.filter(
        (port) => port > 0 && port <= 65535,
        (port) => `${port} is not a port: use 1 to 65535`
      ),
      Flag.optional
    ),
    agents: Flag.String("agents").pipe(
      Flag.withDescription("Module exporting `agents` (name -> behaviour) and optionally `main` and `script`")
    ),
    name: Flag.String("name").pipe(
      Flag.withDescription("This node's id (letters, digits, . _ : @ -); default node-<port>"),
      Flag.filter(
        (name) => NodeId.isNodeId(name),
        (name) => `${name} is not a node id: use letters, digits and . _ : @ -`
      ),
      Flag.optional
    ),
    advertise: Flag.String("advertise").pipe(
      Flag.withDescription("URL peers should dial to reach this node, when not the listening one (proxy, 0.0.0.0)"),
      Flag.filter(isWsUrl, (url) => `${url} is not a ws:// or wss:// URL`),
      Flag.optional
    ),
    peerTimeout: Flag.Int("peer-timeout").pipe(
      Flag.withDescription("Seconds to wait for each peer to come up before giving up"),
      Flag.filter(
        (seconds) => seconds > 0,
        (seconds) => `${seconds} is not a positive number of seconds`
      ),
      Flag.withDefault(120)
    ),
    inspect: Flag.Int("inspect").pipe(
      Flag.withDescription("Serve the live inspector (a web page of the cluster) on this port; 0 picks a free one"),
      Flag.filter(
        (port) => port >= 0 && port <= 65535,
        (port) => `${port} is not a port: use 0 to 65535`
      ),
      Flag.optional
    ),
    inspectHost: Flag.String("inspect-host").pipe(
      Flag.withDescription("Address the inspector listens on (default 127.0.0.1: this machine only)"),
      Flag.withDefault("127.0.0.1")
    ),
    inspectToken: Flag.Redacted("inspect-token").pipe(
      Flag.withDescription(
        "Lets the inspector act (stop actors, cancel sessions, answer questions); without it, it only shows. Default: TROUPE_INSPECT_TOKEN"
      ),
      Flag.withFallbackConfig(Config.Redacted("TROUPE_INSPECT_TOKEN")),
      Flag.optional
    )
  },
  (flags) =>
    // imported when needed: the language model layer is not loaded for the other commands
    Effect.promise(() => import("./TroupeNode.ts")).pipe(
      Effect.flatMap((TroupeNode) =>
        TroupeNode.run({
          agents: flags.agents,
          cluster: Option.match(flags.cluster, {
            onNone: () => undefined,
            onSome: (url) => ({ url, host: flags.host, port: Option.getOrUndefined(flags.clusterPort) })
          }),
          ...Option.match(flags.listen, {
            onNone: () => ({}),
            onSome: (port) => ({ listen: { port, host: flags.host } })
          }),
          advertise: Option.getOrUndefined(flags.advertise),
          peers: flags.peer,
          token: Option.getOrUndefined(flags.token),
          insecureNoAuth: flags.insecureNoAuth,
          tls: {
            cert: Option.getOrUndefined(flags.tlsCert),
            key: Option.getOrUndefined(flags.tlsKey),
            ca: Option.getOrUndefined(flags.tlsCa)
          },
          name: Option.getOrUndefined(flags.name),
          peerTimeout: `${flags.peerTimeout} seconds`,
          inspect: Option.match(flags.inspect, {
            onNone: () => undefined,
            onSome: (port) => ({ port, host: flags.inspectHost, token: Option.getOrUndefined(flags.inspectToken) })
          })
        })
      ),
      Effect.scoped,
      userError
    )
).pipe(
  Command.withDescription(
    "Start a node hosting the agents a module exports, join its peers and run until Ctrl-C. See docs/cli.md."
  ),
  Command.withExamples([
    {
      command: "troupe node --listen 7000 --token s3cret --agents ./agents.ts --name alice",
      description: "Start a node that others join"
    },
    {
      command: "troupe node --listen 7001 --peer ws://127.0.0.1:7000 --token s3cret --agents ./agents.ts --name bob",
      description: "Start a second node that joins the first"
    },
    {
      command: "troupe node --agents ./tickets.ts --cluster postgres://troupe:secret@db/troupe --cluster-port 34431",
      description: "Start a cluster runner hosting the module's sharded types (see docs/cluster.md)"
    },
    {
      command: "troupe node --listen 7000 --token s3cret --agents ./agents.ts --inspect 4000 --inspect-token t0k",
      description: "Start a node with the live inspector at http://127.0.0.1:4000/, allowed to act"
    }
  ])
)

const play = Command.make(
  "play",
  {
    session: Argument.String("session").pipe(Argument.withDescription("The session's id")),
    role: Argument.String("role").pipe(Argument.withDescription("The role to play, as the protocol names it")),
    inspector: Flag.String("inspector").pipe(
      Flag.withDescription("The URL of a node's inspector, e.g. http://127.0.0.1:4000/ (any node of the cluster)"),
      Flag.filter(
        (url) => /^https?:\/\//.test(url) && URL.canParse(url),
        (url) => `${url} is not an http:// or https:// URL`
      )
    ),
    token: Flag.Redacted("token").pipe(
      Flag.withDescription("The inspector's token (its --inspect-token). Default: TROUPE_INSPECT_TOKEN"),
      Flag.withFallbackConfig(Config.Redacted("TROUPE_INSPECT_TOKEN")),
      Flag.optional
    ),
    as: Flag.String("as").pipe(Flag.withDescription("Your name, as the session's trace records it"), Flag.optional)
  },
  (flags) =>
    Effect.promise(() => import("@troupe/inspector")).pipe(
      Effect.flatMap(({ Terminal }) =>
        Terminal.play({
          inspector: flags.inspector,
          session: flags.session,
          role: flags.role,
          token: Option.getOrUndefined(Option.map(flags.token, Redacted.value)),
          by: Option.getOrUndefined(flags.as)
        }).pipe(
          Effect.catchTag("QuitError", () =>
            Effect.fail(new CliError.UserError({ cause: "quit", userMessage: "stopped playing" }))
          ),
          Effect.flatMap((played) => (played.outcome === "completed" ? Effect.void : new AlreadyReported()))
        )
      ),
      userError
    )
).pipe(
  Command.withDescription(
    "Play a role of a running session from this terminal: see what it receives, choose among its legal moves"
  ),
  Command.withExamples([
    {
      command: "troupe session play 3f2c... B --inspector http://127.0.0.1:4000/ --token t0k --as Bea",
      description: "Play role B of session 3f2c... through the inspector of any node"
    }
  ])
)

const sessionCommand = Command.make("session").pipe(
  Command.withDescription("Take part in running choreography sessions"),
  Command.withSubcommands([play])
)

const check = Command.make("check", { module: moduleArgument, protocol: protocolFlag }, ({ module, protocol }) =>
  protocols(module, protocol).pipe(
    Effect.flatMap((found) => report(ProtocolModule.check(found), found)),
    userError
  )
).pipe(
  Command.withDescription(
    "Check the choreography protocols a module exports: their roles, and whether each is well-formed (exit 1 if not)"
  )
)

const project = Command.make(
  "project",
  {
    module: moduleArgument,
    protocol: protocolFlag,
    machine: Flag.Boolean("machine").pipe(
      Flag.withDescription("Also print each role's state machine"),
      Flag.withDefault(false)
    )
  },
  ({ module, protocol, machine }) =>
    protocols(module, protocol).pipe(
      Effect.flatMap((found) => report(ProtocolModule.project(found, { machines: machine }), found)),
      userError
    )
).pipe(Command.withDescription("Print each role's local type (the protocol projected on it)"))

const diagram = Command.make(
  "diagram",
  {
    module: moduleArgument,
    protocol: protocolFlag,
    out: Flag.String("out").pipe(
      Flag.withDescription("Directory to write the files in (created if missing)"),
      Flag.withDefault(".")
    ),
    html: Flag.Boolean("html").pipe(
      Flag.withDescription("Also write an HTML page that shows the diagram in a browser, offline"),
      Flag.withDefault(false)
    ),
    svg: Flag.Boolean("svg").pipe(
      Flag.withDescription("Also write the diagram as an SVG image"),
      Flag.withDefault(false)
    )
  },
  ({ module, protocol, out, html, svg }) =>
    Effect.gen(function* () {
      const found = yield* protocols(module, protocol)
      const refused = ProtocolModule.refused(found)
      if (refused.length > 0) return yield* report(ProtocolModule.check(refused), refused)
      const directory = resolvePath(out)
      yield* Effect.try({
        try: () => mkdirSync(directory, { recursive: true }),
        catch: (error) => new CannotWrite({ path: directory, detail: firstLine(error) })
      })
      for (const p of ProtocolModule.wellFormed(found)) {
        for (const [file, contents] of ProtocolModule.diagramFiles(p, { html, svg })) {
          const path = join(directory, file)
          yield* Effect.try({
            try: () => writeFileSync(path, contents),
            catch: (error) => new CannotWrite({ path, detail: firstLine(error) })
          })
          const shown = relative(process.cwd(), path)
          yield* Console.log(`wrote ${shown.startsWith("..") || shown === "" ? path : shown}`)
        }
      }
    }).pipe(userError)
).pipe(
  Command.withDescription(
    "Write each protocol as a Mermaid sequence diagram (<name>.mmd), and optionally as an HTML page or SVG"
  )
)

const protocolCommand = Command.make("protocol").pipe(
  Command.withDescription(
    "Check, project and draw the choreography protocols a module exports; print and simulate their games"
  ),
  Command.withSubcommands([check, project, diagram, game, simulate])
)

const clusterStatus = Command.make(
  "status",
  {
    url: Argument.String("database").pipe(
      Argument.withDescription("The cluster's database: postgres://user:password@host:port/db, or a SQLite file")
    )
  },
  ({ url }) =>
    Effect.promise(() => import("./ClusterModule.ts")).pipe(
      Effect.flatMap((ClusterModule) => ClusterModule.status(url)),
      Effect.flatMap(Console.log),
      userError
    )
).pipe(
  Command.withDescription("Show the runners of a cluster: their shards, buckets and active actors per type"),
  Command.withExamples([
    { command: "troupe cluster status postgres://troupe:secret@db:5432/troupe", description: "Three runners, say" }
  ])
)

const clusterCommand = Command.make("cluster").pipe(
  Command.withDescription("Sharded actors on Effect Cluster (see docs/cluster.md)"),
  Command.withSubcommands([clusterStatus])
)

/** The `troupe` command and its subcommands. */
export const command = Command.make("troupe").pipe(
  Command.withDescription("Troupe: supervised actors and choreographed LLM agents. See docs/cli.md."),
  Command.withSubcommands([node, protocolCommand, sessionCommand, clusterCommand])
)

/** Flag errors in one line, with where to find the usage. */
const presenter: CliOutput.Presenter = {
  present: (event) => {
    if (event._tag !== "InvalidInvocation") return CliOutput.defaultPresenter.present(event)
    const path = event.commandPath.join(" ")
    const reasons = event.errors.map((e) => e.message.replace(/\s+/g, " ").trim().replace(/\.$/, "")).join("; ")
    return Console.error(`${path}: ${reasons}. Run "${path} --help" for usage.`)
  }
}

const output = Layer.mergeAll(
  CliOutput.layerPresenter(presenter),
  CliOutput.layer({
    ...CliOutput.defaultFormatter({ globalFlags: "summary" }),
    formatError: (error) => `troupe: ${error.message}`
  })
)

/** Logs go to stderr, one line each, from warnings up unless `--log-level` says otherwise. */
const logs = Layer.mergeAll(
  Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)]),
  Layer.succeed(References.MinimumLogLevel, "Warn")
)

/** Runs the CLI with these arguments (without the node binary and script), on Node. */
export const run = (args: ReadonlyArray<string>) =>
  Command.runWith(command, { version })(args).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, output, logs)))
