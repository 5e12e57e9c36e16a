/**
 * Where the time of one very wide (or otherwise costly per byte) payload goes, stage by stage, on each side of
 * the wire, in one process (no wire): the runtime's codec (Schema encode / decode, or the check in place), the
 * transport's checks, JSON text, frame bytes, the frame decoder. Prints the CPU ms of this process per stage (best
 * of N rounds: on a loaded machine wall time mostly measures the other processes).
 *
 *   pnpm exec node bench/probes/wide-payload.ts [shape] [rounds]
 *
 * Each shape is sized to the widest envelope a node sends and accepts by default (`maxEnvelopeValues`, 50,000
 * JSON values, less room for the envelope's own fields), so the figures are the worst a peer can cost:
 * shape: wide (keys of numbers), tiny (short keys), deep (nested 120 deep, repeated), escapes (long strings
 * needing escapes: bounded by bytes, not values), array (an array of numbers)
 */

import { Protocol } from "@troupe/runtime"
import { ActorAddress, Envelope, NodeId } from "@troupe/transport"
import { Schema } from "effect"
import { codecOf } from "../../packages/runtime/src/internal/remote/codec.ts"
import * as Frame from "../../packages/transport/src/Frame.ts"
import { FrameDecoder } from "../../packages/transport/src/internal/frameDecoder.ts"
import { countValues } from "../../packages/transport/src/internal/jsonValues.ts"
import { DEFAULT_ENVELOPE_VALUES } from "../../packages/transport/src/internal/options.ts"

const shape = process.argv[2] ?? "wide"
const rounds = Number(process.argv[3] ?? 5)
/** The payload's values: the default limit less room for the envelope's own fields and the message's tag. */
const VALUES = DEFAULT_ENVELOPE_VALUES - 16

const make = (): { readonly data: unknown; readonly schema: Schema.Top } => {
  switch (shape) {
    case "wide": {
      const data: Record<string, number> = {}
      for (let i = 0; i < VALUES - 2; i++) data[`k${i}`] = i
      return { data, schema: Schema.Record(Schema.String, Schema.Number) }
    }
    case "tiny": {
      const data: Record<string, number> = {}
      for (let i = 0; i < VALUES - 2; i++) data[i.toString(36)] = 0
      return { data, schema: Schema.Record(Schema.String, Schema.Number) }
    }
    case "array": {
      return { data: Array.from({ length: VALUES - 2 }, (_, i) => i), schema: Schema.Array(Schema.Number) }
    }
    case "deep": {
      const one = (d: number): unknown => (d === 0 ? 0 : [one(d - 1)])
      return { data: Array.from({ length: Math.floor((VALUES - 2) / 121) }, () => one(120)), schema: Schema.Json }
    }
    case "escapes": {
      const s = '"\\\n\u0001'.repeat(2_000)
      return { data: Array.from({ length: 100 }, () => s), schema: Schema.Array(Schema.String) }
    }
    default:
      throw new Error(`unknown shape ${shape}`)
  }
}

const { data, schema } = make()
const P = Protocol.make("Wide", { Put: { data: schema as Schema.Codec<unknown, unknown> } })
const codec = codecOf(P)
const message = P.Put({ data } as never) as { readonly _tag: string }

const timings = new Map<string, number>()
const time = <A>(name: string, f: () => A): A => {
  const start = process.cpuUsage()
  const a = f()
  const used = process.cpuUsage(start)
  const ms = (used.user + used.system) / 1000
  timings.set(name, Math.min(timings.get(name) ?? Number.POSITIVE_INFINITY, ms))
  return a
}

const to = ActorAddress.make(NodeId.make("receiver"), "/user/store")
const from = ActorAddress.make(NodeId.make("sender"), "/user/x")
for (let round = 0; round < rounds; round++) {
  // sender
  const payload = time("send: codec.encode (Schema)", () => codec.encode(message))
  const envelope = Envelope.make({ kind: "tell", to, from, payload })
  time("send: Envelope.isEnvelope (transport check)", () => Envelope.isEnvelope(envelope))
  const json = time("send: JSON.stringify(envelope)", () => JSON.stringify(envelope))
  const values = time("send: countValues (the value limit)", () => countValues(json))
  if (values > DEFAULT_ENVELOPE_VALUES) throw new Error(`${values} values: over the limit the probe means to meet`)
  time("send: Buffer.byteLength", () => Buffer.byteLength(json))
  const bytes = time("send: Frame.encodeData (string + Buffer)", () => Frame.encodeData(0, 1, [json]))
  // receiver
  const decoder = new FrameDecoder()
  time("recv: utf8 toString", () => bytes.toString("utf8"))
  time("recv: JSON.parse(frame)", () => JSON.parse(bytes.toString("utf8")))
  const frame = time("recv: FrameDecoder.decode (whole)", () => decoder.decode(bytes, true))
  const received = (frame as { success: Frame.Data }).success.envelopes[0] as Envelope.Envelope
  time("recv: Envelope.isEnvelope", () => Envelope.isEnvelope(received))
  const decoded = time("recv: codec.decode (Schema)", () => codec.decode(received.payload, (() => undefined) as never))
  if (typeof decoded === "string") throw new Error(decoded)
}
console.log(
  `shape ${shape}: ${(JSON.stringify(data).length / 1e6).toFixed(2)} MB of JSON, ${countValues(JSON.stringify(data))} values`
)
for (const [name, ms] of timings) console.log(`${name.padEnd(48)} ${ms.toFixed(1).padStart(8)} ms`)
