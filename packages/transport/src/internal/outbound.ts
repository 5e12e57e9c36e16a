/**
 * Sending: an envelope is checked, encoded once as JSON and put on its link (the resend buffer, the urgent
 * lane, or the line of sends waiting for room). Plain synchronous code; `send` is its Effect face.
 */
import { Effect, Result } from "effect"
import * as Envelope from "../Envelope.ts"
import type { NodeId } from "../NodeId.ts"
import type { Peer } from "../Peer.ts"
import type { Waiting } from "../Transport.ts"
import { InvalidEnvelope, NodeUnreachable, ResendBufferFull, type SendError } from "../TransportError.ts"
import type { Engine } from "./engine.ts"
import { countValues, mayExceed } from "./jsonValues.ts"
import type { Link } from "./link.ts"
import { isUrgent } from "./linkLimits.ts"

/** The live link to `to` (pinned to its incarnation when `to` is a peer), or why there is none. */
const linkTo = (engine: Engine, to: NodeId | Peer): Link | NodeUnreachable => {
  const node = typeof to === "string" ? to : to.node
  if (engine.stopping) return new NodeUnreachable({ node, reason: "stopped", detail: "the transport is shutting down" })
  const link = engine.links.get(node)
  if (link === undefined) {
    const down = engine.peers.downReason(node)
    if (down !== undefined) return new NodeUnreachable({ node, reason: "down", detail: down })
    return node === engine.options.node
      ? new NodeUnreachable({ node, reason: "self", detail: "the transport does not send to its own node" })
      : new NodeUnreachable({ node, reason: "unknown", detail: "no live link to this node" })
  }
  if (typeof to !== "string" && to.incarnation !== link.peer.incarnation) {
    return new NodeUnreachable({
      node,
      reason: "stale",
      detail: `incarnation ${to.incarnation} is gone; the live one is ${link.peer.incarnation}`
    })
  }
  return link
}

/**
 * Encodes an envelope into {@link encoded}, or returns why it cannot cross the wire. A templated envelope is
 * encoded as its payload's JSON (`json` when the caller has it; its link writes the template around it), and a
 * request template's also as the text after it (its correlation id and deadline).
 */
const encode = (envelope: Envelope.Envelope, json: string | undefined, bytes: number): InvalidEnvelope | undefined => {
  try {
    const template = Envelope.templateFor(envelope, json !== undefined)
    if (template !== undefined) {
      // a request template's envelope: its id and deadline follow the payload (see `Envelope.afterPayload`)
      encoded.json = template.request
        ? (json ?? JSON.stringify(envelope.payload)) + Envelope.afterPayload(template, envelope)
        : (json ?? JSON.stringify(envelope.payload))
      encoded.bytes =
        template.bytes + (json === undefined || bytes < 0 || template.request ? Buffer.byteLength(encoded.json) : bytes)
      encoded.template = template
      return
    }
    if (!Envelope.isEnvelope(envelope)) {
      const decoded = Envelope.decode(envelope)
      if (Result.isFailure(decoded)) {
        return new InvalidEnvelope({ field: decoded.failure.field, detail: decoded.failure.message })
      }
    }
    encoded.json = JSON.stringify(envelope)
    encoded.bytes = Buffer.byteLength(encoded.json)
    encoded.template = undefined
  } catch (error) {
    return new InvalidEnvelope({ field: "payload", detail: `not JSON-encodable: ${String(error)}` })
  }
}

/** What {@link encode} made last (read at once: sending is synchronous). */
const encoded: { json: string; bytes: number; template: Envelope.Template | undefined } = {
  json: "",
  bytes: 0,
  template: undefined
}

/**
 * Sends without an Effect (see `Service.offer`): `undefined` once the envelope is in the resend buffer, a
 * `SendError`, or (a user envelope while the window is full, policy `"suspend"`) a function that withdraws
 * it; `done` is then called once it is in the buffer or failed. `payloadJson` (and its `payloadBytes`, -1 for
 * unknown): a templated envelope's payload's JSON, made by the caller, or what writes it (see
 * `Envelope.PayloadWriter`).
 */
export const offer = (
  engine: Engine,
  to: NodeId | Peer,
  envelope: Envelope.Envelope,
  done: ((error: SendError | undefined) => void) | undefined,
  payloadJson?: string | Envelope.PayloadWriter,
  payloadBytes = -1
): SendError | undefined | Waiting => {
  const link = linkTo(engine, to)
  if (link instanceof NodeUnreachable) return link
  if (typeof payloadJson === "function") {
    const written = offerWritten(engine, link, envelope, done, payloadJson)
    if (written !== DECLINED) return written
    payloadJson = undefined // encoded here, like any payload
  }
  const invalid = encode(envelope, payloadJson, payloadBytes)
  if (invalid !== undefined) return invalid
  const { json, bytes, template } = encoded
  counted = 0
  const refused =
    checkSize(link, envelope, bytes) ?? (mustCount(engine, bytes) ? checkValues(engine, json, template) : undefined)
  if (refused !== undefined) return refused
  if (isUrgent(envelope)) {
    link.admission.pushUrgent(json, bytes, template)
    if (counted > 0) engine.detector.busy(link, counted) // a reply (waiting for room: its grace ends sooner)
    return undefined
  }
  if (link.admission.hasRoom()) {
    link.push(json, bytes, template)
    if (counted > 0) engine.detector.busy(link, counted)
    return undefined
  }
  if (engine.options.overflow === "fail") {
    return new ResendBufferFull({ node: link.peer.node, capacity: engine.options.capacity })
  }
  return link.admission.wait(json, bytes, template, done)
}

const DECLINED = Symbol("declined")

/**
 * {@link offer} of a templated user envelope whose payload `write` writes straight into the resend buffer (no string
 * made), with the same checks in the same order; `DECLINED` when it is not such an envelope or `write` declined it.
 */
const offerWritten = (
  engine: Engine,
  link: Link,
  envelope: Envelope.Envelope,
  done: ((error: SendError | undefined) => void) | undefined,
  write: Envelope.PayloadWriter
): SendError | undefined | Waiting | typeof DECLINED => {
  const template = Envelope.templateFor(envelope, true)
  if (template === undefined || template.request || isUrgent(envelope)) return DECLINED
  const bytes = link.ring.writePayload(template, envelope.payload, write)
  if (bytes < 0) return DECLINED
  counted = 0
  const refused =
    checkSize(link, envelope, bytes) ??
    (mustCount(engine, bytes) ? checkValues(engine, link.ring.written(template, bytes), template) : undefined)
  if (refused !== undefined) return refused
  if (link.admission.hasRoom()) {
    link.pushWritten(bytes)
    if (counted > 0) engine.detector.busy(link, counted)
    return undefined
  }
  if (engine.options.overflow === "fail") {
    return new ResendBufferFull({ node: link.peer.node, capacity: engine.options.capacity })
  }
  return link.admission.wait(link.ring.written(template, bytes), bytes, template, done)
}

/** Why an envelope of `bytes` cannot go on `link`, if it cannot. */
const checkSize = (link: Link, envelope: Envelope.Envelope, bytes: number): InvalidEnvelope | undefined => {
  if (envelope.to.node !== link.peer.node) {
    return new InvalidEnvelope({
      field: "to.node",
      detail: `addressed to ${envelope.to.node} but sent to ${link.peer.node}`
    })
  }
  if (bytes > link.maxEnvelopeBytes) {
    return new InvalidEnvelope({
      field: "",
      detail: `${bytes} bytes exceed the frame limit of ${link.maxEnvelopeBytes}`
    })
  }
}

/**
 * Envelopes of this many bytes and more have their values counted (as do those that may hold more values than
 * allowed): the peer's detector gives it time to parse them (see `Detector.busy`). Smaller ones hold at most
 * 32,768 values, work a loaded peer does within the detector's own tolerance of pauses.
 */
const COUNT_FROM_BYTES = 64 * 1024

const mustCount = (engine: Engine, bytes: number): boolean =>
  bytes >= COUNT_FROM_BYTES || mayExceed(bytes, engine.options.maxEnvelopeValues)

/** The values {@link checkValues} counted last (0: not counted; read at once: sending is synchronous). */
let counted = 0

/**
 * Why an envelope whose JSON is `json` (its payload's, around which `template` goes, when templated)
 * cannot go: more JSON values than `maxEnvelopeValues` (called only when {@link mustCount}: its bytes could hold that
 * many, or are many; see {@link COUNT_FROM_BYTES}; the count is left in {@link counted}).
 */
const checkValues = (
  engine: Engine,
  json: string,
  template: Envelope.Template | undefined
): InvalidEnvelope | undefined => {
  const limit = engine.options.maxEnvelopeValues
  // the template's values (its fields around a payload of one value), plus the payload's
  const values =
    template === undefined
      ? countValues(json)
      : countValues(`${template.head}0${template.tail}`) - 1 + countValues(json)
  if (values <= limit) {
    counted = values
    return undefined
  }
  return new InvalidEnvelope({
    field: "payload",
    detail:
      `${values} JSON values exceed the limit of ${limit} per envelope (maxEnvelopeValues): a receiver parses ` +
      "each value, and its node answers no one meanwhile; send the data in parts, or raise maxEnvelopeValues on every node"
  })
}

/** {@link offer} as an Effect: done once the envelope is in the resend buffer (waiting for room if need be). */
export const send = (engine: Engine, to: NodeId | Peer, envelope: Envelope.Envelope): Effect.Effect<void, SendError> =>
  Effect.suspend(() => {
    let resume: ((effect: Effect.Effect<void, SendError>) => void) | undefined
    let early: Effect.Effect<void, SendError> | undefined
    const result = offer(engine, to, envelope, (error) => {
      const effect = error === undefined ? Effect.void : Effect.fail(error)
      if (resume === undefined) early = effect
      else resume(effect)
    })
    if (result === undefined) return Effect.void
    if (typeof result !== "function") return Effect.fail(result)
    return Effect.callback<void, SendError>((r) => {
      if (early !== undefined) r(early)
      else resume = r
      return Effect.sync(result)
    })
  })
