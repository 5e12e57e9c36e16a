/**
 * The wire protocol: the frames two nodes exchange over a connection. Every frame is a UTF-8 JSON
 * object sent as one binary WebSocket message; its `type` says which frame it is.
 *
 * A connection starts with a challenge–response handshake that never sends the secret: the dialer
 * sends `hello`, the acceptor answers `challenge`, the dialer proves it knows the shared secret and
 * its incarnation's key with `proof`, and the acceptor proves the same in `welcome` (either may
 * close with a {@link CloseCode} instead). Then both sides send `data` (numbered envelopes, with a
 * cumulative `ack` piggybacked), `ack`, `heartbeat`, `error` (the answer to a bad frame) and, when
 * shutting down, `goodbye`.
 *
 * @example
 * ```ts
 * import { Frame } from "@troupe/transport"
 * const bytes = Frame.encode({ type: "ack", ack: 3 }) // one binary WebSocket message
 * Frame.decode(bytes, true) // Result.succeed({ type: "ack", ack: 3 })
 * Frame.decodeText('{"type":"ack"}') // Result.fail({ field: "ack", ... })
 * ```
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import { describeIssue, type Problem } from "./Envelope.ts"
import { Incarnation, NodeId } from "./NodeId.ts"

/**
 * The protocol version this package speaks. Peers must speak the same one.
 *
 * @since 0.1.0
 */
export const PROTOCOL_VERSION = 4

const Count = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const Positive = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))

/**
 * 32 bytes in base64url without padding (43 characters): a public key, a nonce or a proof.
 *
 * @since 0.1.0
 */
export const Bytes32 = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^[A-Za-z0-9_-]{43}$/, { message: "32 bytes in base64url (43 characters)" }))
)

/**
 * The smallest frame limit a node may declare or be configured with: room for a data frame's overhead
 * ({@link DATA_OVERHEAD}) and an envelope of a few hundred bytes. A peer declaring less could never be sent a
 * single envelope (every send would fail for the frame limit), so its introduction is refused.
 *
 * @since 0.1.0
 */
export const MIN_FRAME_BYTES = 1024

const FrameLimit = Schema.Int.pipe(
  Schema.check(
    Schema.isGreaterThanOrEqualTo(MIN_FRAME_BYTES, {
      message: `a frame limit of at least ${MIN_FRAME_BYTES} bytes (a data frame's overhead and one envelope must fit)`
    })
  )
)

const Introduction = {
  protocol: Schema.Int,
  node: NodeId,
  incarnation: Incarnation,
  key: Bytes32,
  nonce: Bytes32,
  maxFrameBytes: FrameLimit,
  window: Positive,
  heartbeatInterval: Positive
}

/**
 * The dialer's first frame: who it is (node id, incarnation and the incarnation's X25519 public
 * `key`), the protocol it speaks, a fresh `nonce`, and how it works: the largest frame it accepts,
 * its resend window (in envelopes) and its heartbeat interval (milliseconds). It carries no secret.
 *
 * @since 0.1.0
 */
export const Hello = Schema.Struct({ type: Schema.Literal("hello"), ...Introduction })

/**
 * The acceptor's answer to an admissible `hello`: the same fields about the acceptor, with its own
 * fresh `nonce`. The dialer answers with `proof`.
 *
 * @since 0.1.0
 */
export const Challenge = Schema.Struct({ type: Schema.Literal("challenge"), ...Introduction })

/**
 * The dialer's proof: an HMAC-SHA-256, under a key derived from the shared secret and the X25519
 * agreement of both incarnations' keys, over both introductions (so both nonces, node ids and
 * incarnations). Only a holder of the secret and of the incarnation's private key can make it.
 * Bound into the proof: `generation`, the last link to the acceptor's incarnation the dialer made
 * (links between two incarnations are numbered 1, 2, ...; none: no link yet), and `linked`, whether
 * the dialer still holds it (it did not declare the acceptor down since). The acceptor decides from
 * these which link both carry on with (see {@link Welcome}).
 *
 * @since 0.1.0
 */
export const Proof = Schema.Struct({
  type: Schema.Literal("proof"),
  proof: Bytes32,
  linked: Schema.optionalKey(Schema.Boolean),
  generation: Schema.optionalKey(Positive)
})

/**
 * The acceptor's answer to a good `proof`: its own proof (over the same key, the handshake and
 * `received`), and `received`, the last sequence number it has handed to its consumer from the
 * dialer's incarnation (0 if none), so the dialer resends only what follows; and `generation` (bound
 * into the proof as well), the link both sides carry on with: the one they hold (it continues), or a
 * new one (both start from zero; a side that holds an older one declares it down first).
 *
 * @since 0.1.0
 */
export const Welcome = Schema.Struct({
  type: Schema.Literal("welcome"),
  received: Count,
  proof: Bytes32,
  generation: Positive
})

/**
 * A batch of envelopes numbered `first`, `first + 1`, ... in order, and the cumulative
 * acknowledgement of what the sender has received. Each element of `envelopes` is checked against
 * the envelope schema on its own: a bad one is answered with an `error` frame and skipped (its
 * number is used up), the others are delivered.
 *
 * @since 0.1.0
 */
export const Data = Schema.Struct({
  type: Schema.Literal("data"),
  ack: Count,
  first: Positive,
  envelopes: Schema.Array(Schema.Unknown)
})

/**
 * A cumulative acknowledgement: every envelope up to `ack` was received.
 *
 * @since 0.1.0
 */
export const Ack = Schema.Struct({ type: Schema.Literal("ack"), ack: Count })

/**
 * Sent every heartbeat interval; feeds the peer's failure detector. A heartbeat with `probe: true`
 * asks for one back at once (a node does so before it lets a new incarnation of a connected node
 * id replace the one it knows).
 *
 * @since 0.1.0
 */
export const Heartbeat = Schema.Struct({
  type: Schema.Literal("heartbeat"),
  probe: Schema.optionalKey(Schema.Literal(true))
})

/**
 * A member of the cluster as one node knows it: its id and the URL (or in-process id) it is dialed at.
 *
 * @since 0.1.0
 */
export const Member = Schema.Struct({
  node: NodeId,
  address: Schema.String.pipe(Schema.check(Schema.isMaxLength(2048)))
})

/** @since 0.1.0 */
export type Member = typeof Member.Type

/**
 * Membership gossip, sent on an open link: the sender's own address and the members it has live
 * links to. A node dials, with its own credentials, the members it has no link to; it never takes
 * anything in it as a verdict about a node it is linked to.
 *
 * @since 0.1.0
 */
export const Members = Schema.Struct({
  type: Schema.Literal("members"),
  members: Schema.Array(Member).pipe(Schema.check(Schema.isMaxLength(1024)))
})

/** @since 0.1.0 */
export type Members = typeof Members.Type

/**
 * Sent before a node closes its connections on shutdown: the peer declares it down at once.
 *
 * @since 0.1.0
 */
export const Goodbye = Schema.Struct({ type: Schema.Literal("goodbye"), reason: Schema.String })

/**
 * What an `error` frame answers:
 *
 * - `bad-frame`: the frame was not JSON, not binary, or did not match any frame schema.
 * - `bad-envelope`: an envelope in a `data` frame did not match the envelope schema (`seq` says which).
 * - `misaddressed`: an envelope was addressed to another node.
 * - `unexpected-frame`: a valid frame that makes no sense now (data before the handshake, ...).
 *
 * @since 0.1.0
 */
export const ErrorCode = Schema.Literals(["bad-frame", "bad-envelope", "misaddressed", "unexpected-frame"])

/** @since 0.1.0 */
export type ErrorCode = typeof ErrorCode.Type

/**
 * The answer to a bad frame: `{ type: "error", code, message, field?, seq? }`, where `field` is the
 * dotted path of the offending field and `seq` the number of the offending envelope. The connection
 * stays open.
 *
 * @since 0.1.0
 */
export const ErrorFrame = Schema.Struct({
  type: Schema.Literal("error"),
  code: ErrorCode,
  message: Schema.String,
  field: Schema.optionalKey(Schema.String),
  seq: Schema.optionalKey(Schema.Int)
})

/**
 * Any frame.
 *
 * @since 0.1.0
 */
export const Frame = Schema.Union([
  Hello,
  Challenge,
  Proof,
  Welcome,
  Data,
  Ack,
  Heartbeat,
  Members,
  Goodbye,
  ErrorFrame
])

/** @since 0.1.0 */
export type Frame = typeof Frame.Type
/** @since 0.1.0 */
export type Hello = typeof Hello.Type
/** @since 0.1.0 */
export type Challenge = typeof Challenge.Type
/** @since 0.1.0 */
export type Proof = typeof Proof.Type
/** @since 0.1.0 */
export type Welcome = typeof Welcome.Type
/** @since 0.1.0 */
export type Data = typeof Data.Type
/** @since 0.1.0 */
export type ErrorFrame = typeof ErrorFrame.Type

const FrameType = Schema.Struct({
  type: Schema.Literals([
    "hello",
    "challenge",
    "proof",
    "welcome",
    "data",
    "ack",
    "heartbeat",
    "members",
    "goodbye",
    "error"
  ])
})
const decodeType = Schema.decodeUnknownResult(FrameType)
const decodeData = Schema.decodeUnknownResult(Data)
const decodeFrame = Schema.decodeUnknownResult(Frame)

const isCount = (u: unknown, min: number): boolean => Number.isSafeInteger(u) && (u as number) >= min

/**
 * A fast check that a parsed value is a valid `data` frame (the hot path); it accepts exactly what
 * the `Data` schema accepts, and anything it rejects goes to the schema for the error.
 *
 * @since 0.1.0
 */
export const isData = (u: unknown): u is Data => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const frame = u as { readonly [key: string]: unknown }
  return frame.type === "data" && isCount(frame.ack, 0) && isCount(frame.first, 1) && Array.isArray(frame.envelopes)
}

const problem = (field: string, message: string): Result.Result<never, Problem> => Result.fail({ field, message })

/**
 * Decodes one WebSocket message into a frame, checking it with the frame schemas. A failure says
 * which field is wrong (`""` for the frame as a whole) and why.
 *
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array, isBinary: boolean): Result.Result<Frame, Problem> => {
  if (!isBinary) return problem("", "text frames are not accepted: frames are binary UTF-8 JSON")
  return decodeText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"))
}

/**
 * Like {@link decode}, for the text of a binary message.
 *
 * @example
 * ```ts
 * const decoded = Frame.decodeText('{"type":"ack","ack":3}') // Result.succeed({ type: "ack", ack: 3 })
 * ```
 * @since 0.1.0
 */
export const decodeText = (text: string): Result.Result<Frame, Problem> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return problem("", "the frame is not valid JSON (garbage or truncated)")
  }
  return decodeValue(value)
}

/**
 * Like {@link decode}, for a value already parsed from JSON.
 *
 * @since 0.1.0
 */
export const decodeValue = (value: unknown): Result.Result<Frame, Problem> => {
  if (isData(value)) return Result.succeed(value)
  const data = (value as { readonly type?: unknown } | null)?.type === "data" ? decodeData(value) : decodeFrame(value)
  if (Result.isSuccess(data)) return Result.succeed(data.success)
  const type = decodeType(value)
  return Result.fail(describeIssue(Result.isFailure(type) ? type.failure.issue : data.failure.issue))
}

/**
 * Encodes a frame as the bytes of one binary message.
 *
 * @since 0.1.0
 */
export const encode = (frame: Frame): Buffer => Buffer.from(JSON.stringify(frame), "utf8")

/**
 * Encodes a `data` frame from envelopes that are already JSON text (the resend buffer keeps them
 * encoded, so an envelope is serialised once however often it is sent).
 *
 * @since 0.1.0
 */
export const encodeData = (ack: number, first: number, envelopes: ReadonlyArray<string>): Buffer =>
  Buffer.from(`{"type":"data","ack":${ack},"first":${first},"envelopes":[${envelopes.join(",")}]}`, "utf8")

/**
 * The bytes a `data` frame adds around its envelopes, at most (for frame size budgeting).
 *
 * @since 0.1.0
 */
export const DATA_OVERHEAD = 80
