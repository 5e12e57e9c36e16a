/** `troupe node`: its flags, checked, handed to `TroupeNode.run`. */
import type { Inspector } from "@troupe/inspector"
import type { TransportError } from "@troupe/transport"
import { Config, Effect, Option, Schema } from "effect"
import { CliError, Command, Flag } from "effect/cli"
import { FlagNotUsable, InvalidFlagValue } from "./nodeErrors.ts"
import { userError } from "./userError.ts"

/**
 * A whole number flag, taken as it was typed and decoded in the command (see {@link decodeWhole}), so that a value
 * that is not one is told as ours: the flag, the value, what to give (Effect CLI's own parse said "Expected a
 * string representing a finite number").
 */
const wholeFlag = (name: string, metavar: string) => Flag.String(name).pipe(Flag.withMetavar(metavar))

/**
 * Decodes a {@link wholeFlag}'s value: a whole number from `min` to `max`; else `InvalidFlagValue` saying what to
 * give (`expected`).
 */
const decodeWhole = (
  flag: string,
  value: Option.Option<string>,
  range: { readonly min: number; readonly max: number; readonly expected: string }
): Effect.Effect<number | undefined, InvalidFlagValue> =>
  Option.match(value, {
    onNone: () => Effect.succeed(undefined),
    onSome: (text) =>
      Schema.decodeUnknownEffect(
        Schema.FiniteFromString.pipe(
          Schema.check(Schema.isInt(), Schema.isBetween({ minimum: range.min, maximum: range.max }))
        )
      )(text.trim() === "" ? "-" : text).pipe(
        Effect.mapError(() => new InvalidFlagValue({ flag, value: text, expected: range.expected }))
      )
  })

/** A port from `min` (0 where 0 picks a free one) to 65535. */
const port = (min: number) => ({
  min,
  max: 65535,
  expected: `a port: give a whole number from ${min} to 65535${min === 0 ? " (0 picks a free one)" : ""}`
})

const isWsUrl = (url: string) => /^wss?:\/\//.test(url) && URL.canParse(url)

/**
 * `--name`'s check: a node id, else the error `Flag.filter` gives. The transport, which knows node ids, is imported
 * here, when a node is started with a name: `troupe --help`, a mistyped flag and the other commands do not load it.
 */
const isNodeId = (name: string): Effect.Effect<string, CliError.InvalidValue> =>
  Effect.flatMap(
    Effect.promise(() => import("@troupe/transport")),
    ({ NodeId }) =>
      NodeId.isNodeId(name)
        ? Effect.succeed(name)
        : Effect.fail(
            new CliError.InvalidValue({
              option: "name",
              value: name,
              expected: `${name} is not a node id: use letters, digits and . _ : @ -`,
              kind: "flag"
            })
          )
  )

/** The flag of each transport option a start error can name (`TransportStartError.field`). */
const FLAG_OF_OPTION: Record<string, string> = {
  "listen.host": "host",
  "listen.port": "listen",
  advertisedUrl: "advertise",
  node: "name",
  secret: "token",
  "tls.cert": "tls-cert",
  "tls.key": "tls-key",
  "tls.ca": "tls-ca"
}

/** The flag of each part of the inspector's address (`InspectorError.part`). */
const FLAG_OF_INSPECTOR = { host: "inspect-host", port: "inspect" } as const

/**
 * A start error of the transport or the inspector about one of their options, told as the flag a person gave (the
 * library names `listen.host`; the person typed `--host`); other errors as they are.
 */
const asFlags = <E>(error: E): E | FlagNotUsable => {
  const tagged = error as { readonly _tag?: unknown }
  if (tagged._tag === "TransportStartError") {
    const { field, detail } = error as TransportError.TransportStartError
    const flag = FLAG_OF_OPTION[field]
    return flag === undefined ? error : new FlagNotUsable({ flag, option: field, detail })
  }
  if (tagged._tag === "InspectorError") {
    const { part, detail } = error as Inspector.InspectorError
    return part === undefined || part === "interval"
      ? error
      : new FlagNotUsable({ flag: FLAG_OF_INSPECTOR[part], option: "", detail })
  }
  return error
}

/** `troupe node`: a node hosting the agents of a module (see `TroupeNode`). */
export const node = Command.make(
  "node",
  {
    listen: wholeFlag("listen", "port").pipe(
      Flag.withDescription("Port to accept peers on (0 picks a free one); leave it out for a node that only dials"),
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
    clusterPort: wholeFlag("cluster-port", "port").pipe(
      Flag.withDescription("Port other runners reach this one on (PostgreSQL clusters; default 34431)"),
      Flag.optional
    ),
    agents: Flag.String("agents").pipe(
      Flag.withDescription("Module exporting `agents` (name -> behaviour) and optionally `main` and `script`")
    ),
    name: Flag.String("name").pipe(
      Flag.withDescription("This node's id (letters, digits, . _ : @ -); default node-<port>"),
      Flag.mapEffect(isNodeId),
      Flag.optional
    ),
    advertise: Flag.String("advertise").pipe(
      Flag.withDescription("URL peers should dial to reach this node, when not the listening one (proxy, 0.0.0.0)"),
      Flag.filter(isWsUrl, (url) => `${url} is not a ws:// or wss:// URL`),
      Flag.optional
    ),
    peerTimeout: wholeFlag("peer-timeout", "seconds").pipe(
      Flag.withDescription("Seconds to wait for each peer to come up before giving up (default 120)"),
      Flag.optional
    ),
    inspect: wholeFlag("inspect", "port").pipe(
      Flag.withDescription("Serve the live inspector (a web page of the cluster) on this port; 0 picks a free one"),
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
    Effect.gen(function* () {
      const listen = yield* decodeWhole("listen", flags.listen, port(0))
      const clusterPort = yield* decodeWhole("cluster-port", flags.clusterPort, port(1))
      const inspect = yield* decodeWhole("inspect", flags.inspect, port(0))
      const peerTimeout = yield* decodeWhole("peer-timeout", flags.peerTimeout, {
        min: 1,
        max: Number.MAX_SAFE_INTEGER,
        expected: "a number of seconds: give a whole number of 1 or more"
      })
      // the module first: one that is missing or exports nothing usable is told without loading the runtime, the
      // transport and the language models (`TroupeNode.run` loads it again, from Node's module cache)
      const AgentsModule = yield* Effect.promise(() => import("../AgentsModule.ts"))
      yield* AgentsModule.load(flags.agents)
      // imported when needed: the language model layer is not loaded for the other commands
      const TroupeNode = yield* Effect.promise(() => import("../TroupeNode.ts"))
      return yield* TroupeNode.run({
        agents: flags.agents,
        cluster: Option.match(flags.cluster, {
          onNone: () => undefined,
          onSome: (url) => ({ url, host: flags.host, port: clusterPort })
        }),
        ...(listen === undefined ? {} : { listen: { port: listen, host: flags.host } }),
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
        peerTimeout: `${peerTimeout ?? 120} seconds`,
        inspect:
          inspect === undefined
            ? undefined
            : { port: inspect, host: flags.inspectHost, token: Option.getOrUndefined(flags.inspectToken) }
      })
    }).pipe(Effect.scoped, Effect.mapError(asFlags), userError)
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
