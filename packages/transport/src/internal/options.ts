import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto"
import { Duration, Redacted, Result, Schema } from "effect"
import { describeIssue } from "../Envelope.ts"
import * as FailureDetector from "../FailureDetector.ts"
import * as Frame from "../Frame.ts"
import * as NodeId from "../NodeId.ts"
import type { Options, OverflowPolicy } from "../Transport.ts"
import { TransportStartError } from "../TransportError.ts"

/** Options with every default applied, durations in milliseconds. */
export interface Resolved {
  readonly node: NodeId.NodeId
  readonly incarnation: NodeId.Incarnation
  /** The HMAC key derived from the shared secret (empty when there is none). */
  readonly secretKey: Buffer
  /** Whether a shared secret was given. */
  readonly hasSecret: boolean
  /** This incarnation's X25519 key pair; the public key in base64url. */
  readonly privateKey: KeyObject
  readonly publicKey: string
  readonly heartbeatMs: number
  readonly failureDetector: FailureDetector.Options
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  readonly factor: number
  readonly capacity: number
  /** Bytes of envelopes that may be unacknowledged per link (see `resendBuffer.bytes`). */
  readonly resendBytes: number
  readonly overflow: OverflowPolicy
  readonly maxFrameBytes: number
  readonly maxEnvelopeValues: number
  readonly handshakeMs: number
  readonly shutdownMs: number
  readonly limits: Limits
  /** Whether the node gossips its members and links to those it learns. */
  readonly connectAll: boolean
}

/** The limits a peer cannot raise, resolved. */
export interface Limits {
  readonly maxPeers: number
  readonly maxPeersPerAddress: number
  readonly maxHandshakes: number
  readonly maxPeerHeartbeatMs: number
  readonly maxFailedHandshakes: number
  readonly maxConnections: number
  readonly maxConnectionsPerAddress: number
  readonly logLinesPerPeer: number
  readonly maxLearnedDials: number
}

/** The shortest shared secret accepted: 16 characters (128 bits when random hex or base64 is used). */
export const MIN_SECRET_LENGTH = 16

/**
 * The default `maxEnvelopeValues`: 50,000 JSON values. Encoding one such envelope, or parsing it, costs about
 * 0.05 to 0.1 s of CPU on a quiet core, and 1.5 to 3 s of wall time on a 2-core machine at load 35: within the
 * default failure detector's tolerance of a busy peer (3 s). At 100,000, a sender building and encoding one
 * stalled 6.4 s at that load, and its peer declared it down.
 */
export const DEFAULT_ENVELOPE_VALUES = 50_000
/** The smallest `maxEnvelopeValues`: room for an envelope's own fields and a small payload. */
export const MIN_ENVELOPE_VALUES = 64

const Millis = Schema.Finite.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const PositiveMillis = Schema.Finite.pipe(Schema.check(Schema.isGreaterThan(0)))

/** The failure detector's settings, durations in milliseconds (see `FailureDetector`). */
const Detector = Schema.Union([
  Schema.Struct({ _tag: Schema.Literal("Timeout"), timeout: PositiveMillis }),
  Schema.Struct({
    _tag: Schema.Literal("PhiAccrual"),
    threshold: Schema.Finite.pipe(Schema.check(Schema.isGreaterThan(0))),
    maxSampleSize: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
    minStdDeviation: PositiveMillis,
    acceptableHeartbeatPause: Millis,
    firstHeartbeatEstimate: Schema.optional(PositiveMillis)
  })
])

const Checked = Schema.Struct({
  failureDetector: Detector,
  node: NodeId.NodeId,
  heartbeatInterval: PositiveMillis,
  reconnect: Schema.Struct({
    initialDelay: PositiveMillis,
    maxDelay: PositiveMillis,
    factor: Schema.Finite.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))
  }),
  resendBuffer: Schema.Struct({
    capacity: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 1, maximum: 1 << 24 }))),
    bytes: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 1, maximum: 2 ** 48 }))),
    overflow: Schema.Literals(["suspend", "fail"])
  }),
  maxFrameBytes: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(Frame.MIN_FRAME_BYTES))),
  maxEnvelopeValues: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(MIN_ENVELOPE_VALUES))),
  handshakeTimeout: PositiveMillis,
  shutdownTimeout: Millis,
  limits: Schema.Struct({
    maxPeers: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
    maxPeersPerAddress: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
    maxHandshakes: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
    maxPeerHeartbeatInterval: PositiveMillis,
    maxFailedHandshakes: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
    maxConnections: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
    maxConnectionsPerAddress: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
    logLinesPerPeer: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
    maxLearnedDials: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))
  })
})

/** A duration in milliseconds; `NaN` for one that is not a duration (a bad one is refused before: see `badDuration`). */
const millis = (input: Duration.Input | undefined, fallback: number): number => {
  if (input === undefined) return fallback
  const duration = readDuration(input)
  return duration === undefined ? Number.NaN : Duration.toMillis(duration)
}

/** The duration `input` stands for, or `undefined` when it is none (`"2 sec0"`, `null`, a boolean; never throws). */
const readDuration = (input: unknown): Duration.Duration | undefined => {
  if (typeof input === "number") return Number.isNaN(input) ? undefined : Duration.millis(input)
  if (input === null || input === undefined || typeof input === "boolean") return undefined
  try {
    const duration = Duration.fromInput(input as Duration.Input)
    return duration._tag === "Some" ? duration.value : undefined
  } catch {
    return undefined
  }
}

/** The forms a duration option may take, for errors. */
const durationForms =
  'a duration: a number of milliseconds, a string "<number> <unit>" (e.g. "500 millis", "2 seconds"), or a Duration'

/** A value as the user wrote it, for errors. */
const shown = (value: unknown): string => {
  if (typeof value === "number" || value === undefined) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** The first duration option given that is not a duration at all (its forms), before the numbers are checked. */
const badDuration = (options: Options): TransportStartError | undefined => {
  const detector = options.failureDetector as Readonly<Record<string, unknown>> | undefined
  const durations: ReadonlyArray<readonly [string, unknown]> = [
    ["heartbeatInterval", options.heartbeatInterval],
    ["reconnect.initialDelay", options.reconnect?.initialDelay],
    ["reconnect.maxDelay", options.reconnect?.maxDelay],
    ["handshakeTimeout", options.handshakeTimeout],
    ["shutdownTimeout", options.shutdownTimeout],
    ["limits.maxPeerHeartbeatInterval", options.limits?.maxPeerHeartbeatInterval],
    ["failureDetector.timeout", detector?._tag === "Timeout" ? detector.timeout : undefined],
    ["failureDetector.minStdDeviation", detector?.minStdDeviation],
    ["failureDetector.acceptableHeartbeatPause", detector?.acceptableHeartbeatPause],
    ["failureDetector.firstHeartbeatEstimate", detector?.firstHeartbeatEstimate]
  ]
  if (detector !== undefined && detector?._tag !== "Timeout" && detector?._tag !== "PhiAccrual") {
    return new TransportStartError({
      field: "failureDetector",
      detail:
        `failureDetector is ${shown(detector)}: expected one made by FailureDetector.timeout(...) or ` +
        'FailureDetector.phiAccrual(...) (from a config file: an object with _tag "Timeout" or "PhiAccrual")'
    })
  }
  for (const [field, value] of durations) {
    if (value !== undefined && readDuration(value) === undefined) {
      return new TransportStartError({ field, detail: `${field} is ${shown(value)}: expected ${durationForms}` })
    }
  }
  return undefined
}

/**
 * The failure detector's settings, durations in milliseconds, for {@link Detector}: one made by
 * `FailureDetector.timeout` or `FailureDetector.phiAccrual` (a plain object from a config file must say which in its
 * `_tag`).
 */
const detectorInput = (options: FailureDetector.Options | undefined): unknown => {
  if (options === undefined)
    return { ...FailureDetector.phiAccrual(), minStdDeviation: 100, acceptableHeartbeatPause: 3000 }
  if (typeof options !== "object" || options === null) return options
  const given = options as unknown as Readonly<Record<string, Duration.Input | undefined>>
  const inMillis = (key: string) => (given[key] === undefined ? {} : { [key]: millis(given[key], Number.NaN) })
  return options._tag === "Timeout"
    ? { ...options, ...inMillis("timeout") }
    : {
        ...options,
        ...inMillis("minStdDeviation"),
        ...inMillis("acceptableHeartbeatPause"),
        ...inMillis("firstHeartbeatEstimate")
      }
}

/** The HMAC key of a shared secret: its SHA-256, domain-separated (the secret itself never leaves the node). */
const secretKey = (secret: string): Buffer =>
  createHash("sha256").update("troupe shared secret\0", "utf8").update(secret, "utf8").digest()

/** Applies defaults and checks every option with a Schema. */
export const resolve = (options: Options = {}): Result.Result<Resolved, TransportStartError> => {
  const notDuration = badDuration(options)
  if (notDuration !== undefined) return Result.fail(notDuration)
  const limits = options.limits
  const input = {
    failureDetector: detectorInput(options.failureDetector),
    node: options.node ?? NodeId.random(),
    heartbeatInterval: millis(options.heartbeatInterval, 1000),
    reconnect: {
      initialDelay: millis(options.reconnect?.initialDelay, 100),
      maxDelay: millis(options.reconnect?.maxDelay, 5000),
      factor: options.reconnect?.factor ?? 2
    },
    resendBuffer: {
      capacity: options.resendBuffer?.capacity ?? 8192,
      bytes: options.resendBuffer?.bytes ?? 64 * 1024 * 1024,
      overflow: options.resendBuffer?.overflow ?? "suspend"
    },
    maxFrameBytes: options.maxFrameBytes ?? 4 * 1024 * 1024,
    maxEnvelopeValues: options.maxEnvelopeValues ?? DEFAULT_ENVELOPE_VALUES,
    handshakeTimeout: millis(options.handshakeTimeout, 5000),
    shutdownTimeout: millis(options.shutdownTimeout, 1000),
    limits: {
      maxPeers: limits?.maxPeers ?? 1000,
      maxPeersPerAddress: limits?.maxPeersPerAddress ?? 100,
      maxHandshakes: limits?.maxHandshakes ?? 64,
      maxPeerHeartbeatInterval: millis(limits?.maxPeerHeartbeatInterval, 5000),
      maxFailedHandshakes: limits?.maxFailedHandshakes ?? 5,
      maxConnections: limits?.maxConnections ?? 2000,
      maxConnectionsPerAddress: limits?.maxConnectionsPerAddress ?? 100,
      logLinesPerPeer: limits?.logLinesPerPeer ?? 10,
      maxLearnedDials: limits?.maxLearnedDials ?? 64
    }
  }
  const result = Schema.decodeUnknownResult(Checked)(input)
  if (Result.isFailure(result)) {
    const problem = describeIssue(result.failure.issue)
    const given = problem.field
      .split(".")
      .reduce<unknown>((at, key) => (at as Readonly<Record<string, unknown>> | undefined)?.[key], input)
    // (durations are shown in milliseconds: the value checked)
    return Result.fail(
      new TransportStartError({
        field: problem.field,
        detail: `${problem.field} is ${shown(given)}: ${problem.message}`
      })
    )
  }
  const checked = result.success
  const reconnect = checked.reconnect
  if (options.reconnect?.maxDelay !== undefined && reconnect.maxDelay < reconnect.initialDelay) {
    return Result.fail(
      new TransportStartError({
        field: "reconnect.maxDelay",
        detail:
          `reconnect.maxDelay (${reconnect.maxDelay} ms) is less than reconnect.initialDelay ` +
          `(${reconnect.initialDelay} ms): give a maxDelay at least as long as the initialDelay`
      })
    )
  }
  const maxPeerHeartbeat = checked.limits.maxPeerHeartbeatInterval
  if (options.limits?.maxPeerHeartbeatInterval !== undefined && maxPeerHeartbeat < checked.heartbeatInterval) {
    return Result.fail(
      new TransportStartError({
        field: "limits.maxPeerHeartbeatInterval",
        detail:
          `limits.maxPeerHeartbeatInterval (${maxPeerHeartbeat} ms) is less than heartbeatInterval ` +
          `(${checked.heartbeatInterval} ms), this node's own: give a maxPeerHeartbeatInterval at least as long as ` +
          "the heartbeatInterval, or leave it out (5 s, or the heartbeatInterval if longer)"
      })
    )
  }
  const secret = Redacted.isRedacted(options.secret) ? Redacted.value(options.secret) : options.secret
  // spaces at the ends add nothing a guesser has to find (16 spaces is an empty secret, not a strong one)
  const strength = secret?.trim().length ?? 0
  if (secret !== undefined && strength < MIN_SECRET_LENGTH) {
    return Result.fail(
      new TransportStartError({
        field: "secret",
        detail:
          `${strength === 0 ? "the secret is empty (or only spaces)" : `the secret has ${strength} characters${strength === secret.length ? "" : " besides spaces at its ends"}`}; ` +
          `use at least ${MIN_SECRET_LENGTH}, e.g. 32 random hex digits (openssl rand -hex 16)`
      })
    )
  }
  const { privateKey, publicKey } = generateKeyPairSync("x25519")
  return Result.succeed({
    node: checked.node,
    incarnation: NodeId.makeIncarnation(),
    secretKey: secret === undefined ? Buffer.alloc(0) : secretKey(secret),
    hasSecret: secret !== undefined,
    privateKey,
    publicKey: publicKey.export({ format: "jwk" }).x!,
    heartbeatMs: checked.heartbeatInterval,
    failureDetector: options.failureDetector ?? FailureDetector.phiAccrual(),
    initialDelayMs: checked.reconnect.initialDelay,
    maxDelayMs: Math.max(checked.reconnect.maxDelay, checked.reconnect.initialDelay),
    factor: checked.reconnect.factor,
    capacity: checked.resendBuffer.capacity,
    resendBytes: checked.resendBuffer.bytes,
    overflow: checked.resendBuffer.overflow,
    maxFrameBytes: checked.maxFrameBytes,
    maxEnvelopeValues: checked.maxEnvelopeValues,
    handshakeMs: checked.handshakeTimeout,
    shutdownMs: checked.shutdownTimeout,
    limits: {
      ...checked.limits,
      maxPeerHeartbeatMs: Math.max(checked.limits.maxPeerHeartbeatInterval, checked.heartbeatInterval)
    },
    connectAll: options.connectAll !== false
  })
}

/**
 * Checks where a WebSocket node listens before it tries (Node throws a `RangeError` out of `listen` for a port that is
 * not one, a defect): a port is a whole number from 0 (any free one) to 65535, a host a non-empty string.
 *
 * @example
 * ```ts
 * checkListen({ port: 70000 }) // TransportStartError, field "listen.port"
 * ```
 */
export const checkListen = (listen: unknown): TransportStartError | undefined => {
  if (listen === undefined || typeof listen !== "object" || listen === null || !("port" in listen)) return undefined
  const { port, host } = listen as { readonly port: unknown; readonly host?: unknown }
  if (!(typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535)) {
    return new TransportStartError({
      field: "listen.port",
      detail: `listen.port is ${shown(port)}: give a whole number from 1 to 65535, or 0 for a free one`
    })
  }
  if (host !== undefined && (typeof host !== "string" || host === "")) {
    return new TransportStartError({
      field: "listen.host",
      detail: `listen.host is ${shown(host)}: give a host name or address (e.g. 127.0.0.1), or leave it out`
    })
  }
  return undefined
}

/**
 * Checks the URL a WebSocket node publishes as its address (`advertisedUrl`): peers dial it, so it is a `ws://` or
 * `wss://` URL (a host and port alone, `example.com:7000`, was published as it was and no peer could dial it).
 *
 * @example
 * ```ts
 * checkAdvertisedUrl("example.com:7000") // TransportStartError, field "advertisedUrl"
 * ```
 */
export const checkAdvertisedUrl = (url: unknown): TransportStartError | undefined =>
  url === undefined || (typeof url === "string" && URL.canParse(url) && /^wss?:$/.test(new URL(url).protocol))
    ? undefined
    : new TransportStartError({
        field: "advertisedUrl",
        detail: `advertisedUrl is ${shown(url)}: give the ws:// or wss:// URL peers dial, e.g. wss://node-1.example.org:7000`
      })
