/**
 * The typed errors of the transport.
 *
 * @example
 * ```ts
 * import { NodeId, Transport } from "@troupe/transport"
 * import { Effect } from "effect"
 * const transport = yield* Transport.Transport
 * yield* transport.send(NodeId.make("node-b"), envelope).pipe(
 *   Effect.catchTag("NodeUnreachable", (e) => Effect.log(`not sent: ${e.message}`)) // e.reason: "down", "stale", ...
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The node cannot be reached: it was never connected (`unknown`), it was declared down (`down`),
 * the envelope was pinned to an incarnation that is no longer the live one (`stale`), it is this
 * node itself (`self`), the target given to `connect` cannot be dialed (`invalid`, such as a
 * malformed URL), the target refused this node for good or could not be trusted (`refused`: a wrong
 * secret, another protocol version, a node id in use, a TLS certificate not trusted), or this
 * transport is shutting down (`stopped`).
 *
 * @since 0.1.0
 */
export class NodeUnreachable extends Schema.TaggedError<NodeUnreachable>()("NodeUnreachable", {
  node: Schema.String,
  reason: Schema.Literals(["unknown", "down", "stale", "self", "invalid", "refused", "stopped"]),
  detail: Schema.String
}) {
  override get message(): string {
    return `node ${this.node} is unreachable (${this.reason}): ${this.detail}`
  }
}

/**
 * The resend buffer of the link to `node` holds `capacity` envelopes the peer has not acknowledged,
 * and the overflow policy is `"fail"`. With the `"suspend"` policy the sender waits instead.
 *
 * @since 0.1.0
 */
export class ResendBufferFull extends Schema.TaggedError<ResendBufferFull>()("ResendBufferFull", {
  node: Schema.String,
  capacity: Schema.Number
}) {
  override get message(): string {
    return `the resend buffer to node ${this.node} is full (${this.capacity} unacknowledged envelopes)`
  }
}

/**
 * The envelope cannot be sent: it does not match the envelope schema (`field` names the culprit),
 * its payload is not JSON-encodable, it is addressed to another node than the one it is sent to,
 * or it is larger than the frame size limit.
 *
 * @since 0.1.0
 */
export class InvalidEnvelope extends Schema.TaggedError<InvalidEnvelope>()("InvalidEnvelope", {
  field: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid envelope${this.field === "" ? "" : ` at ${this.field}`}: ${this.detail}`
  }
}

/**
 * Every error `Transport.send` can fail with.
 *
 * @since 0.1.0
 */
export type SendError = NodeUnreachable | ResendBufferFull | InvalidEnvelope

/**
 * The transport could not start: its options are invalid (`field` names the bad one) or it could
 * not listen (address in use, server not listening, ...).
 *
 * @since 0.1.0
 */
export class TransportStartError extends Schema.TaggedError<TransportStartError>()("TransportStartError", {
  field: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `the transport could not start${this.field === "" ? "" : ` (${this.field})`}: ${this.detail}`
  }
}

/**
 * Why a server could not listen on `host`:`port`, for a person: which of the two is wrong (`"host"`: a name that
 * does not resolve, an address not of this machine; `"port"`: taken, privileged) and what to do, from the error
 * `listen` reported (its `code`, e.g. `ENOTFOUND`, `EADDRINUSE`). Used by the transport's listener and by servers
 * beside it (the inspector).
 *
 * @example
 * ```ts
 * import { TransportError } from "@troupe/transport"
 * server.once("error", (error) => {
 *   const { part, detail } = TransportError.listenFailure(error, "no-such-host", 7000)
 *   // part "host", detail "the host name no-such-host does not resolve (getaddrinfo ENOTFOUND ...): give ..."
 * })
 * ```
 *
 * @since 0.1.0
 */
export const listenFailure = (
  error: unknown,
  host: string,
  port: number
): { readonly part: "host" | "port"; readonly detail: string } => {
  const code = (error as { readonly code?: unknown } | undefined)?.code
  const said = error instanceof Error ? error.message : String(error)
  const addresses = "127.0.0.1 (this machine only), 0.0.0.0 (every interface) or another address of this machine"
  switch (code) {
    case "ENOTFOUND":
    case "EAI_NONAME":
    case "EAI_FAIL":
      return { part: "host", detail: `the host name ${host} does not resolve (${said}): give ${addresses}` }
    case "EAI_AGAIN":
      return {
        part: "host",
        detail: `the host name ${host} could not be resolved now (${said}: DNS did not answer): retry, or give ${addresses}`
      }
    case "EADDRNOTAVAIL":
      return { part: "host", detail: `${host} is not an address of this machine (${said}): give ${addresses}` }
    case "EADDRINUSE":
      return { part: "port", detail: `port ${port} is taken (${said}): choose another, or 0 for a free one` }
    case "EACCES":
    case "EPERM":
      return {
        part: "port",
        detail: `this process may not listen on port ${port} (${said}): use a port above 1023, or 0 for a free one`
      }
    default:
      return { part: port === 0 ? "host" : "port", detail: said }
  }
}
