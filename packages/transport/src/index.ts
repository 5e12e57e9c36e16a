/**
 * @troupe/transport moves envelopes between nodes, in one process or over WebSocket, with reliable
 * ordered delivery per pair of live nodes, failure detection and a wire that trusts nothing. It
 * knows nothing of actors.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ActorAddress from "./ActorAddress.ts"
/** @since 0.1.0 */
export * as CloseCode from "./CloseCode.ts"
/** @since 0.1.0 */
export * as Envelope from "./Envelope.ts"
/** @since 0.1.0 */
export * as FailureDetector from "./FailureDetector.ts"
/** @since 0.1.0 */
export * as Frame from "./Frame.ts"
/** @since 0.1.0 */
export * as InProcess from "./InProcess.ts"
/** @since 0.1.0 */
export * as NodeId from "./NodeId.ts"
/** @since 0.1.0 */
export * as Peer from "./Peer.ts"
/** @since 0.1.0 */
export * as Transport from "./Transport.ts"
/** @since 0.1.0 */
export * as TransportError from "./TransportError.ts"
/** @since 0.1.0 */
export * as TransportMetrics from "./TransportMetrics.ts"
/** @since 0.1.0 */
export * as WebSocket from "./WebSocket.ts"
