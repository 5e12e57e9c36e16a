/**
 * @troupe/transport moves envelopes between nodes, in one process or over WebSocket, with reliable
 * ordered delivery per pair of live nodes, failure detection and a wire that trusts nothing. It
 * knows nothing of actors.
 *
 * @since 0.1.0
 */

/** An actor's address: its node and its path. */
export * as ActorAddress from "./ActorAddress.ts"
/** The WebSocket close codes the transport uses, and what each means. */
export * as CloseCode from "./CloseCode.ts"
/** What moves between nodes: a message with its sender, recipient, kind and trace context. */
export * as Envelope from "./Envelope.ts"
/** Failure detectors (phi accrual, or a plain timeout) fed by heartbeats. */
export * as FailureDetector from "./FailureDetector.ts"
/** The wire format: frames and their codecs, checked on the way in. */
export * as Frame from "./Frame.ts"
/** Many nodes in one process, with fault injection (drop, delay, partition, crash). */
export * as InProcess from "./InProcess.ts"
/** Node ids and incarnations. */
export * as NodeId from "./NodeId.ts"
/** Live peers, and the events of peers joining and leaving. */
export * as Peer from "./Peer.ts"
/** The transport service: connect, send, receive, peer events, stats. */
export * as Transport from "./Transport.ts"
/** Why a send or a start can fail. */
export * as TransportError from "./TransportError.ts"
/** The transport's metrics. */
export * as TransportMetrics from "./TransportMetrics.ts"
/** Nodes in different processes or machines, over `ws://` or `wss://`. */
export * as WebSocket from "./WebSocket.ts"
