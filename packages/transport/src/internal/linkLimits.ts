/**
 * A link's limits and lanes: how long an ack may wait, how much a socket may queue and a data frame may hold, how
 * long urgent envelopes may wait, and which envelopes are urgent (see `link.ts` and `admission.ts`).
 */
import type * as Envelope from "../Envelope.ts"

/** A link waits this long before sending an ack on its own when no data frame carries one. */
export const ACK_DELAY_MS = 5
/** Frames are written while the socket has at most this many bytes queued, and batched after. */
export const HIGH_WATER = 64 * 1024
/**
 * A data frame holds at most a quarter of the window, and at most this many bytes of envelopes (an envelope larger
 * than this still goes, alone in its frame). Half a socket read (Node reads 64 KiB at a time): the receiver's `ws`
 * copies a frame that spans two reads into a new buffer, and fresh memory costs the kernel's page faults (~10 µs of
 * CPU per 4 KiB page on a VM), so a smaller frame spans fewer reads and copies fewer bytes (120 KiB frames spanned
 * nearly always: ~3,000 more page faults per 300 k small tells on the receiver). Frames are written from the link's
 * frame arena and go through `ws.send` (no copy: see wsWrite.ts), so more of them cost the sender no memory.
 * (Below V8's largest regular heap object, 128 KiB, too: the receiver decodes a frame into one string, and a larger
 * one goes to the large-object space, which costs about five times as much per byte.) A full frame is written at once, inside the turn that queued its envelopes, so the
 * peer decodes one frame while this node encodes the next. (Many senders in one scheduler turn would otherwise
 * fill the whole window before the microtask writes it, and the two nodes would take turns, each idle while the
 * other works.)
 */
export const FRAME_BYTES = 32 * 1024
/**
 * Data frames up to this many bytes of envelopes are decoded without counting their values first (see engine.ts):
 * a sender batches envelopes into frames up to `FRAME_BYTES`, 120 KiB in earlier versions (at most ~62,000 values:
 * work bounded as much).
 */
export const UNCOUNTED_FRAME_BYTES = 120 * 1024
/** Urgent envelopes may wait for a peer's window up to this many times the capacity; then it is declared down. */
export const URGENT_LIMIT = 4

/**
 * Replies and system messages (death watch, cancellations, directory updates, lookups) travel on the urgent
 * lane: they never fail for a full resend buffer and never wait behind user messages waiting for room.
 */
export const isUrgent = (envelope: Envelope.Envelope): boolean =>
  envelope.kind === "reply" || envelope.kind === "system"
