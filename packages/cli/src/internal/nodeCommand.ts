/** `troupe node`: its flags, checked, handed to `TroupeNode.run`. */
import type { Inspector } from "@troupe/inspector"
import { NodeId, type TransportError } from "@troupe/transport"
import { Config, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { FlagNotUsable } from "./nodeErrors.ts"
import { userError } from "./userError.ts"

/** A flag's port, from `min` (0 where 0 picks a free one) to 65535. */
const portFrom = (min: number) =>
  Flag.filter(
    (port: number) => port >= min && port <= 65535,
    (port) => `${port} is not a port: use ${min} to 65535`
  )

const isWsUrl = (url: string) => /^wss?:\/\//.test(url) && URL.canParse(url)

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
    return part === undefined ? error : new FlagNotUsable({ flag: FLAG_OF_INSPECTOR[part], option: "", detail })
  }
  return error
}

/** `troupe node`: a node hosting the agents of a module (see `TroupeNode`). */
export const node = Command.make(
  "node",
  {
    listen: Flag.Int("listen").pipe(
      Flag.withDescription("Port to accept peers on (0 picks a free one); leave it out for a node that only dials"),
      portFrom(0),
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
      portFrom(1),
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
      portFrom(0),
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
    Effect.promise(() => import("../TroupeNode.ts")).pipe(
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
      Effect.mapError(asFlags),
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
