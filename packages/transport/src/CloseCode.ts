/**
 * The WebSocket close codes the transport uses (the in-process transport uses the same ones).
 *
 * | code | name               | sent when                                                                 | what the other side does                |
 * |------|--------------------|---------------------------------------------------------------------------|-----------------------------------------|
 * | 1000 | `Normal`           | the link is closed after a `goodbye`                                      | nothing more                            |
 * | 1001 | `GoingAway`        | the node is shutting down                                                 | the peer is declared down (`shutdown`)  |
 * | 1006 | (abnormal)         | never sent: seen when a socket dies without a close frame                 | the dialer reconnects                   |
 * | 1009 | `TooBig`           | a frame is larger than `maxFrameBytes` (ws `maxPayload`)                  | the dialer reconnects                   |
 * | 4000 | `ProtocolError`    | a frame breaks the link protocol (sequence gap, handshake frame on an open link, ack of something never sent) | the dialer reconnects; unacknowledged envelopes are resent |
 * | 4001 | `Unauthorized`     | the `hello` carries a wrong token or none                                 | the dialer retries with backoff; the refusal is logged |
 * | 4002 | `VersionMismatch`  | the peers speak different protocol versions                               | as 4001                                 |
 * | 4003 | `HandshakeTimeout` | no valid `hello` / `welcome` arrived within `handshakeTimeout`            | the dialer retries                      |
 * | 4004 | `Duplicate`        | another connection already carries the link between the two nodes (both dialed each other); the connection dialed by the node with the smaller id wins | the dialer waits until the link has no connection, then redials |
 * | 4005 | `Quarantined`      | the incarnation was declared down earlier; it must restart to rejoin      | the peer is declared down (`refused`)   |
 * | 4006 | `SelfConnection`   | a node dialed itself (or another node with the same id)                   | the dialer stops dialing that target    |
 * | 4007 | `Idle`             | nothing was received for three heartbeat intervals                        | the dialer reconnects                   |
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export const Normal = 1000
/** @since 0.1.0 */
export const GoingAway = 1001
/** @since 0.1.0 */
export const Abnormal = 1006
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
  [TooBig]: "TooBig",
  [ProtocolError]: "ProtocolError",
  [Unauthorized]: "Unauthorized",
  [VersionMismatch]: "VersionMismatch",
  [HandshakeTimeout]: "HandshakeTimeout",
  [Duplicate]: "Duplicate",
  [Quarantined]: "Quarantined",
  [SelfConnection]: "SelfConnection",
  [Idle]: "Idle"
}
