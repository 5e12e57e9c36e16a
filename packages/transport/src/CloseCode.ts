/**
 * The WebSocket close codes the transport uses (the in-process transport uses the same ones).
 *
 * | code | name               | sent when                                                                 | what the other side does                |
 * |------|--------------------|---------------------------------------------------------------------------|-----------------------------------------|
 * | 1000 | `Normal`           | the link is closed after a `goodbye`                                      | nothing more                            |
 * | 1001 | `GoingAway`        | the node is shutting down                                                 | the peer is declared down (`shutdown`)  |
 * | 1006 | (abnormal)         | never sent: seen when a socket dies without a close frame                 | the dialer reconnects                   |
 * | 1008 | `PolicyViolation`  | sent by `ws`: a message in too many fragments                              | the dialer reconnects                   |
 * | 1009 | `TooBig`           | a frame is larger than `maxFrameBytes` (ws `maxPayload`), or larger than 16 KiB before the handshake | the dialer reconnects |
 * | 4000 | `ProtocolError`    | a frame breaks the link protocol (sequence gap, ack of something never sent, 16 bad frames before the handshake) | the dialer reconnects; unacknowledged envelopes are resent |
 * | 4001 | `Unauthorized`     | the peer's proof does not match the secret; its key is not the one its incarnation linked with; its id is not its certificate's subject | final: the dialer stops and `connect` fails (`refused`) |
 * | 4002 | `VersionMismatch`  | the peers speak different protocol versions, or a hello it refuses       | as 4001                                 |
 * | 4003 | `HandshakeTimeout` | the handshake did not complete within `handshakeTimeout`                  | the dialer retries                      |
 * | 4004 | `Duplicate`        | another connection already carries the link between the two nodes (both dialed each other); the connection dialed by the node with the smaller id wins | the dialer waits until the link has no connection, then redials |
 * | 4005 | `Quarantined`      | the incarnation was declared down earlier; it must restart to rejoin      | the peer is declared down (`refused`)   |
 * | 4006 | `SelfConnection`   | a node dialed itself (or another node with the same id)                   | the dialer stops dialing that target    |
 * | 4007 | `Idle`             | nothing was received for three heartbeat intervals                        | the dialer reconnects                   |
 * | 4008 | `Overloaded`       | the node is at its limit of peers (in all, or at one address) or of handshakes in progress | the dialer retries                      |
 * | 4009 | `Throttled`        | too many failed handshakes came from this address lately                  | the dialer retries                      |
 * | 4010 | `IdInUse`          | the node id belongs to a live incarnation, which answered a probe         | final, as 4001                          |
 *
 * @example
 * ```ts
 * import { CloseCode } from "@troupe/transport"
 * CloseCode.name(4001) // "Unauthorized"
 * CloseCode.isFinal(CloseCode.Unauthorized) // true: the dialer stops, `connect` fails with `refused`
 * CloseCode.isFinal(CloseCode.Overloaded) // false: the dialer retries
 * ``` *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export const Normal = 1000
/** @since 0.1.0 */
export const GoingAway = 1001
/** @since 0.1.0 */
export const Abnormal = 1006
/** @since 0.1.0 */
export const PolicyViolation = 1008
/** @since 0.1.0 */
export const TooBig = 1009
/** @since 0.1.0 */
export const ProtocolError = 4000
/** @since 0.1.0 */
export const Unauthorized = 4001
/** @since 0.1.0 */
export const VersionMismatch = 4002
/** @since 0.1.0 */
export const HandshakeTimeout = 4003
/** @since 0.1.0 */
export const Duplicate = 4004
/** @since 0.1.0 */
export const Quarantined = 4005
/** @since 0.1.0 */
export const SelfConnection = 4006
/** @since 0.1.0 */
export const Idle = 4007
/** @since 0.1.0 */
export const Overloaded = 4008
/** @since 0.1.0 */
export const Throttled = 4009
/** @since 0.1.0 */
export const IdInUse = 4010

/**
 * Whether a dialer that got this close code during the handshake stops dialing: the refusal will
 * not change by retrying (a wrong secret, another protocol, its own id, an id in use).
 *
 * @since 0.1.0
 */
export const isFinal = (code: number): boolean =>
  code === Unauthorized || code === VersionMismatch || code === SelfConnection || code === IdInUse

/**
 * The name of a close code, for logs (`"Unauthorized"`, `"code 1006"`, ...).
 *
 * @since 0.1.0
 */
export const name = (code: number): string => names[code] ?? `code ${code}`

const names: Record<number, string> = {
  [Normal]: "Normal",
  [GoingAway]: "GoingAway",
  [Abnormal]: "Abnormal",
  [PolicyViolation]: "PolicyViolation",
  [TooBig]: "TooBig",
  [ProtocolError]: "ProtocolError",
  [Unauthorized]: "Unauthorized",
  [VersionMismatch]: "VersionMismatch",
  [HandshakeTimeout]: "HandshakeTimeout",
  [Duplicate]: "Duplicate",
  [Quarantined]: "Quarantined",
  [SelfConnection]: "SelfConnection",
  [Idle]: "Idle",
  [Overloaded]: "Overloaded",
  [Throttled]: "Throttled",
  [IdInUse]: "IdInUse"
}
