/**
 * The checks of an envelope's JSON: the fast `isEnvelope` the wire runs on every inbound envelope, the JSON and
 * depth checks of a payload, and the `traceparent` pattern. Public through `Envelope.ts`.
 *
 * @since 0.1.0
 */
import type * as ActorAddress from "../ActorAddress.ts"
import type { Envelope } from "../Envelope.ts"
import { isNodeId } from "../NodeId.ts"

/** @internal The W3C `traceparent` pattern (see `Envelope.Traceparent`). */
export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

/**
 * How deeply a payload may nest (arrays and objects within each other). Deeper payloads are refused
 * at the sender (`InvalidEnvelope`) and at the receiver (a `bad-envelope` error frame): decoding
 * them would exhaust the stack.
 *
 * @since 0.1.0
 */
export const MAX_PAYLOAD_DEPTH = 128

/** @internal The depth of a value's nesting, counted up to `limit + 1` (so it never walks further). */
export const depthOf = (u: unknown, limit: number): number => {
  if (typeof u !== "object" || u === null) return 0
  if (limit === 0) return 1
  let deepest = 0
  for (const key in u) {
    const depth = depthOf((u as { readonly [key: string]: unknown })[key], limit - 1)
    if (depth > deepest) deepest = depth
    if (deepest >= limit) break
  }
  return deepest + 1
}

/** @internal What a payload nested too deep is told. */
export const deepMessage = `nested deeper than ${MAX_PAYLOAD_DEPTH} levels`

/** @internal Whether `s` is a W3C `traceparent` value (what `Envelope.Traceparent` accepts). */
export const isTraceparent = (s: string): boolean => TRACEPARENT.test(s)

/** A JSON leaf: a string, a boolean, a finite number. */
const isLeaf = (u: unknown): boolean => {
  const type = typeof u
  return type === "string" || type === "boolean" || (type === "number" && Number.isFinite(u))
}

/** @internal Whether `u` is a JSON value nested at most `MAX_PAYLOAD_DEPTH - depth` deep (leaves checked in place, no call each). */
export const isJson = (u: unknown, depth: number): boolean => {
  if (typeof u !== "object") return isLeaf(u)
  if (u === null) return true
  if (depth >= MAX_PAYLOAD_DEPTH) return false
  if (Array.isArray(u)) {
    for (let i = 0; i < u.length; i++) {
      const value: unknown = u[i]
      if (typeof value === "object" ? !isJson(value, depth + 1) : !isLeaf(value)) return false
    }
    return true
  }
  const proto = Object.getPrototypeOf(u)
  if (proto !== Object.prototype && proto !== null) return false // a Date, a Map, a class instance...
  for (const key in u) {
    const value = (u as { readonly [key: string]: unknown })[key]
    if (typeof value === "object" ? !isJson(value, depth + 1) : !isLeaf(value)) return false
  }
  return true
}

const isAddress = (u: unknown, checked: string | undefined): boolean => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const a = u as { readonly node?: unknown; readonly path?: unknown }
  return (a.node === checked || isNodeId(a.node)) && typeof a.path === "string"
}

/** The `to.node` and `from.node` of the last envelope found valid: on a link the same two come in every one. */
let checkedTo: string | undefined
let checkedFrom: string | undefined

/**
 * A fast check that a value parsed from JSON is a valid {@link Envelope}: the wire's hot path runs
 * it on every inbound envelope. It accepts exactly what the Schema accepts for JSON input (a
 * conformance test holds it to that); whatever it rejects is decoded with the Schema, which has the
 * last word and names the offending field.
 *
 * @since 0.1.0
 */
export const isEnvelope = (u: unknown): u is Envelope => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const e = u as { readonly [key: string]: unknown }
  switch (e.kind) {
    case "tell":
    case "ask":
    case "reply":
    case "system":
      break
    default:
      return false
  }
  if (!isAddress(e.to, checkedTo) || !isJson(e.payload, 0)) return false
  if ("from" in e && !isAddress(e.from, checkedFrom)) return false
  if ("correlationId" in e && typeof e.correlationId !== "string") return false
  if ("seq" in e && !(Number.isSafeInteger(e.seq) && (e.seq as number) >= 1)) return false
  if ("traceparent" in e && !(typeof e.traceparent === "string" && TRACEPARENT.test(e.traceparent))) return false
  if ("deadline" in e && !Number.isFinite(e.deadline)) return false
  checkedTo = (e.to as ActorAddress.ActorAddress).node
  if (e.from !== undefined) checkedFrom = (e.from as ActorAddress.ActorAddress).node
  return true
}
