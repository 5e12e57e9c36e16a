/** Why a node does not start or stops (exported by `TroupeNode`). */
import { Duration, Schema } from "effect"

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

/**
 * A flag's value is not what the flag takes (a port that is not a number, say): the flag, the value given, and what to
 * give instead.
 *
 * @example
 * ```ts
 * new InvalidFlagValue({ flag: "listen", value: "abc", expected: "a port: give a whole number from 0 to 65535" }).message
 * // --listen: "abc" is not a port: give a whole number from 0 to 65535
 * ```
 */
export class InvalidFlagValue extends Schema.TaggedError<InvalidFlagValue>()("InvalidFlagValue", {
  flag: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message() {
    return `--${this.flag}: ${JSON.stringify(this.value)} is not ${this.expected}`
  }
}

/** The node could not join its cluster. */
export class ClusterFailed extends Schema.TaggedError<ClusterFailed>()("ClusterFailed", { detail: Schema.String }) {
  override get message() {
    return `Cannot run as a cluster runner: ${this.detail}`
  }
}

/**
 * A flag's value the node could not use once it tried (a host that does not resolve, a port taken, a file that is
 * not PEM): `detail` says what was wrong and what to do; the flag is named where the library said its option.
 */
export class FlagNotUsable extends Schema.TaggedError<FlagNotUsable>()("FlagNotUsable", {
  flag: Schema.String,
  option: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    const flag = `--${this.flag}`
    return this.option !== "" && this.detail.includes(this.option)
      ? this.detail.replaceAll(this.option, flag)
      : `${flag}: ${this.detail}`
  }
}

/**
 * Another process took this node's name over on a storage its durable work uses (the main hook's own storage too):
 * the node's durable work was stopped (see `Storage.fenced`), and the node stops. `holder` says who took it, when
 * the storage says.
 *
 * @example
 * ```ts
 * new NodeTakenOver({ node: "alice", location: "data.db", holder: "process 4242 on host b" }).message
 * // Node alice stopped: another process (process 4242 on host b) took its node name over on data.db ...
 * ```
 */
export class NodeTakenOver extends Schema.TaggedError<NodeTakenOver>()("NodeTakenOver", {
  node: Schema.String,
  location: Schema.String,
  holder: Schema.optional(Schema.String)
}) {
  override get message() {
    const who = this.holder === undefined ? "another process" : `another process (${this.holder})`
    return `Node ${this.node} stopped: ${who} took its node name over on ${this.location} and runs its durable work now. If this process had stalled or lost the database for a while, give the storage a lease longer than that (Storage option nodeLease); else give each process its own --name`
  }
}
