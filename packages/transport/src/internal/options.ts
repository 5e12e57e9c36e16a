import { createHash } from "node:crypto"
import { Duration, Redacted, Result, Schema } from "effect"
import { describeIssue } from "../Envelope.ts"
import * as FailureDetector from "../FailureDetector.ts"
import * as NodeId from "../NodeId.ts"
import type { Options, OverflowPolicy } from "../Transport.ts"
import { TransportStartError } from "../TransportError.ts"

/** Options with every default applied, durations in milliseconds. */
export interface Resolved {
  readonly node: NodeId.NodeId
  readonly incarnation: NodeId.Incarnation
  readonly token: string | undefined
  readonly secretHash: Buffer | undefined
  readonly heartbeatMs: number
  readonly failureDetector: FailureDetector.Options
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  readonly factor: number
  readonly capacity: number
  readonly overflow: OverflowPolicy
  readonly maxFrameBytes: number
  readonly handshakeMs: number
  readonly shutdownMs: number
}

const Millis = Schema.Finite.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const PositiveMillis = Schema.Finite.pipe(Schema.check(Schema.isGreaterThan(0)))

const Checked = Schema.Struct({
  node: NodeId.NodeId,
  heartbeatInterval: PositiveMillis,
  reconnect: Schema.Struct({
    initialDelay: PositiveMillis,
    maxDelay: PositiveMillis,
    factor: Schema.Finite.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))
  }),
  resendBuffer: Schema.Struct({
    capacity: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 1, maximum: 1 << 24 }))),
    overflow: Schema.Literals(["suspend", "fail"])
  }),
  maxFrameBytes: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1024))),
  handshakeTimeout: PositiveMillis,
  shutdownTimeout: Millis
})

const millis = (input: Duration.Input | undefined, fallback: number): number => {
  if (input === undefined) return fallback
  const duration = Duration.fromInput(input)
  return duration._tag === "Some" ? Duration.toMillis(duration.value) : Number.NaN
}

/** The SHA-256 of a token, so tokens of any length compare in constant time. */
export const hashToken = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

/** Applies defaults and checks every option with a Schema. */
export const resolve = (options: Options = {}): Result.Result<Resolved, TransportStartError> => {
  const result = Schema.decodeUnknownResult(Checked)({
    node: options.node ?? NodeId.random(),
    heartbeatInterval: millis(options.heartbeatInterval, 1000),
    reconnect: {
      initialDelay: millis(options.reconnect?.initialDelay, 100),
      maxDelay: millis(options.reconnect?.maxDelay, 5000),
      factor: options.reconnect?.factor ?? 2
    },
    resendBuffer: {
      capacity: options.resendBuffer?.capacity ?? 8192,
      overflow: options.resendBuffer?.overflow ?? "suspend"
    },
    maxFrameBytes: options.maxFrameBytes ?? 4 * 1024 * 1024,
    handshakeTimeout: millis(options.handshakeTimeout, 5000),
    shutdownTimeout: millis(options.shutdownTimeout, 1000)
  })
  if (Result.isFailure(result)) {
    const problem = describeIssue(result.failure.issue)
    return Result.fail(new TransportStartError({ field: problem.field, detail: problem.message }))
  }
  const checked = result.success
  const token =
    options.secret === undefined
      ? undefined
      : Redacted.isRedacted(options.secret)
        ? Redacted.value(options.secret)
        : options.secret
  return Result.succeed({
    node: checked.node,
    incarnation: NodeId.makeIncarnation(),
    token,
    secretHash: token === undefined ? undefined : hashToken(token),
    heartbeatMs: checked.heartbeatInterval,
    failureDetector: options.failureDetector ?? FailureDetector.phiAccrual(),
    initialDelayMs: checked.reconnect.initialDelay,
    maxDelayMs: Math.max(checked.reconnect.maxDelay, checked.reconnect.initialDelay),
    factor: checked.reconnect.factor,
    capacity: checked.resendBuffer.capacity,
    overflow: checked.resendBuffer.overflow,
    maxFrameBytes: checked.maxFrameBytes,
    handshakeMs: checked.handshakeTimeout,
    shutdownMs: checked.shutdownTimeout
  })
}
