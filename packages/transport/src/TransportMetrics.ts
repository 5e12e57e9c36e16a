/**
 * The transport's Effect metrics. Each node reports its series with the attribute `node` set to its
 * id; the values are read from the transport's counters when metrics are snapshotted, so they cost
 * nothing on the hot path.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { TransportMetrics } from "@troupe/transport"
 * const badFrames = Metric.value(Metric.withAttributes(TransportMetrics.badFrames, { node: "node-a" }))
 * ```
 * @since 0.1.0
 */
import { Metric } from "effect"

/** Frames received. @since 0.1.0 */
export const framesIn = Metric.counter("troupe_transport_frames_in", { description: "frames received" })
/** Frames sent. @since 0.1.0 */
export const framesOut = Metric.counter("troupe_transport_frames_out", { description: "frames sent" })
/** Bytes received. @since 0.1.0 */
export const bytesIn = Metric.counter("troupe_transport_bytes_in", { description: "bytes received" })
/** Bytes sent. @since 0.1.0 */
export const bytesOut = Metric.counter("troupe_transport_bytes_out", { description: "bytes sent" })
/** Envelopes delivered to the consumer's queue. @since 0.1.0 */
export const envelopesIn = Metric.counter("troupe_transport_envelopes_in", { description: "envelopes received" })
/** Envelopes written (first sends and resends). @since 0.1.0 */
export const envelopesOut = Metric.counter("troupe_transport_envelopes_out", { description: "envelopes written" })
/** Envelopes written again after a reconnect. @since 0.1.0 */
export const resent = Metric.counter("troupe_transport_resent", { description: "envelopes resent after a reconnect" })
/** Duplicate envelopes dropped. @since 0.1.0 */
export const duplicates = Metric.counter("troupe_transport_duplicates", { description: "duplicate envelopes dropped" })
/** Frames and envelopes rejected by the schemas. @since 0.1.0 */
export const badFrames = Metric.counter("troupe_transport_bad_frames", { description: "bad frames and envelopes" })
/** Handshakes refused. @since 0.1.0 */
export const refused = Metric.counter("troupe_transport_refused", { description: "handshakes refused" })
/** Links currently up. @since 0.1.0 */
export const linksUp = Metric.gauge("troupe_transport_links_up", { description: "links up" })
