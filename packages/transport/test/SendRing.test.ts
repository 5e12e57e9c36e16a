/**
 * The resend ring writes `data` frames straight into a buffer (templated envelopes as their template's bytes around
 * their payload's JSON, runs of one template with one copy between payloads): the bytes must be exactly those of
 * `Frame.encodeData` on the envelopes' JSON, whatever the mix of templates, plain envelopes and non-ASCII text.
 */
import { describe, expect, it } from "vitest"
import * as ActorAddress from "../src/ActorAddress.ts"
import * as Envelope from "../src/Envelope.ts"
import * as Frame from "../src/Frame.ts"
import { SendRing } from "../src/internal/sendRing.ts"
import * as NodeId from "../src/NodeId.ts"

const b = NodeId.make("node-b")
const templates = [
  Envelope.template({ kind: "tell", to: ActorAddress.make(b, "/user/counter") }),
  Envelope.template({
    kind: "tell",
    to: ActorAddress.make(b, "/user/zähler"),
    from: ActorAddress.make(NodeId.make("node-a"), "/user/producer")
  })
]

/** A small deterministic generator (the same cases every run). */
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}

describe("SendRing.frame", () => {
  it("writes the bytes of Frame.encodeData for any mix of templated and plain envelopes", () => {
    const next = random(7)
    for (let round = 0; round < 200; round++) {
      const ring = new SendRing(64)
      const count = 1 + Math.floor(next() * 40)
      const whole: Array<string> = []
      let size = 0
      for (let seq = 1; seq <= count; seq++) {
        const pick = next()
        const payload = { _tag: "Tick", n: seq, text: next() < 0.2 ? "héllo ✓" : "hello" }
        const json = JSON.stringify(payload)
        if (pick < 0.7) {
          const template = templates[pick < 0.5 ? 0 : 1]!
          whole.push(template.head + json + template.tail)
          const bytes = template.bytes + Buffer.byteLength(json)
          ring.writeJson(json, bytes, template)
          ring.put(seq, 0, bytes)
          size += bytes + 1
        } else {
          const envelope = JSON.stringify(
            Envelope.make({ kind: "system", to: ActorAddress.make(b, "/system"), payload })
          )
          whole.push(envelope)
          const bytes = Buffer.byteLength(envelope)
          ring.writeJson(envelope, bytes, undefined)
          ring.put(seq, 0, bytes)
          size += bytes + 1
        }
      }
      const first = 1 + Math.floor(next() * count)
      for (let seq = 1; seq < first; seq++) size -= ring.size(seq) + 1
      const frame = ring.frame(round, first, count, size)
      expect(frame.toString("utf8")).toBe(Frame.encodeData(round, first, whole.slice(first - 1)).toString("utf8"))
      expect(frame.length).toBe(Frame.encodeData(round, first, whole.slice(first - 1)).length)
      // with room for a wire's header in front (see Wire.headerRoom): the same bytes after it, in a small frame or
      // one from the arena
      const room = 1 + (round % 8)
      const roomy = ring.frame(round, first, count, size, { handed: round, completed: round }, room)
      expect(roomy.length).toBe(room + frame.length)
      expect(roomy.subarray(room).equals(frame)).toBe(true)
    }
  })

  it("keeps every unacknowledged envelope's bytes across chunks, written or not, freed and reused in any order", () => {
    // payloads a writer writes (declining some, asking for room for others) mixed with JSON, acks at random,
    // large envelopes that take a chunk of their own: every frame and every envelope's JSON stays exact
    const next = random(11)
    const writeTick: Envelope.PayloadWriter = (payload, into, at, end) => {
      const text = JSON.stringify(payload)
      if ((payload as { n: number }).n % 13 === 0) return -2 // declined: the caller encodes it
      if (at + Buffer.byteLength(text) > end) return -1
      return at + into.write(text, at, "utf8")
    }
    const ring = new SendRing(4096)
    const live = new Map<number, string>()
    let acked = 0
    let seq = 0
    for (let step = 0; step < 10_000; step++) {
      const pick = next()
      const long = next() < 0.004 ? "ü".repeat(Math.floor(next() * 300_000)) : "x".repeat(Math.floor(next() * 300))
      const payload = { _tag: "Tick", n: step, text: long }
      const template = templates[step % 2]!
      const whole = template.head + JSON.stringify(payload) + template.tail
      if (pick < 0.6) {
        const bytes = ring.writePayload(template, payload, writeTick)
        if (bytes < 0) {
          expect(step % 13 === 0 || Buffer.byteLength(whole) > 256 * 1024 - 2).toBe(true)
          continue
        }
        expect(bytes).toBe(Buffer.byteLength(whole))
        if (next() < 0.05) {
          // a send that waits takes its payload's JSON; the next write overwrites it
          expect(ring.written(template, bytes)).toBe(JSON.stringify(payload))
          continue
        }
        ring.put(++seq, acked, bytes)
      } else {
        const json = JSON.stringify(payload)
        ring.writeJson(json, template.bytes + Buffer.byteLength(json), template)
        ring.put(++seq, acked, template.bytes + Buffer.byteLength(json))
      }
      live.set(seq, whole)
      if (seq - acked > 3000 || next() < 0.02) {
        const to = acked + 1 + Math.floor(next() * (seq - acked))
        ring.free(acked + 1, to)
        for (let s = acked + 1; s <= to; s++) live.delete(s)
        acked = to
      }
      if (next() < 0.05 && seq > acked) {
        const first = acked + 1 + Math.floor(next() * (seq - acked))
        const last = first + Math.floor(next() * (seq - first + 1))
        const envelopes: Array<string> = []
        let size = 0
        for (let s = first; s <= last; s++) {
          expect(ring.jsonOf(s)).toBe(live.get(s))
          envelopes.push(live.get(s)!)
          size += ring.size(s) + 1
        }
        expect(ring.frame(step, first, last, size).equals(Frame.encodeData(step, first, envelopes))).toBe(true)
      }
    }
  })

  it("writes the frame's counts digit by digit, as JSON writes them", () => {
    const ring = new SendRing(8192)
    const json = JSON.stringify(Envelope.make({ kind: "tell", to: ActorAddress.make(b, "/user/c"), payload: 1 }))
    for (const [seq, ack] of [
      [1, 0],
      [9, 8],
      [10, 9],
      [99, 100],
      [100, 99],
      [1_000_000, 999_999],
      [123_456_789_012_345, 999_999_999_999_999]
    ] as const) {
      ring.writeJson(json, json.length, undefined)
      ring.put(seq, seq - 1, json.length)
      const frame = ring.frame(ack, seq, seq, ring.size(seq) + 1)
      expect(frame.toString("latin1")).toBe(Frame.encodeData(ack, seq, [json]).toString("latin1"))
      ring.free(seq, seq)
    }
  })

  it("reuses a chunk only once every envelope in it is acknowledged", () => {
    // 1,000-byte envelopes: chunks grow to their largest size, then the ack stops in the middle of an old chunk
    const ring = new SendRing(1 << 16)
    const json = (seq: number) => JSON.stringify({ seq, pad: "p".repeat(980 - String(seq).length) })
    let acked = 0
    const put = (seq: number) => {
      ring.writeJson(json(seq), Buffer.byteLength(json(seq)), undefined)
      ring.put(seq, acked, Buffer.byteLength(json(seq)))
    }
    for (let seq = 1; seq <= 4000; seq++) {
      put(seq)
      if (seq % 100 === 0) {
        ring.free(acked + 1, seq - 600)
        acked = seq - 600
      }
    }
    // ~260 envelopes per chunk: acknowledge up to the middle of a chunk before the one being written, write two more
    ring.free(acked + 1, 3600)
    acked = 3600
    for (let seq = 4001; seq <= 4600; seq++) put(seq)
    for (let seq = 3601; seq <= 4600; seq++) expect(ring.jsonOf(seq)).toBe(json(seq))
  })

  it("writes frames handed to a connection into its arena, over and over once written out, and keeps none once idle", () => {
    const ring = new SendRing(1024)
    const json = (seq: number) => JSON.stringify({ seq, pad: "p".repeat(1000) })
    const envelopes: Array<string> = []
    let size = 0
    for (let seq = 1; seq <= 40; seq++) {
      const bytes = Buffer.byteLength(json(seq))
      ring.writeJson(json(seq), bytes, undefined)
      ring.put(seq, 0, bytes)
      envelopes.push(json(seq))
      size += bytes + 1
    }
    const expected = Frame.encodeData(0, 1, envelopes)
    const writes = { handed: 0, completed: 0 }
    const first = ring.frame(0, 1, 40, size, writes)
    writes.handed++
    expect(first.equals(expected)).toBe(true)
    // the first still out: another part of memory
    const second = ring.frame(0, 1, 40, size, writes)
    writes.handed++
    expect(second.byteOffset + second.buffer.byteLength).not.toBe(first.byteOffset + first.buffer.byteLength)
    first.fill(0)
    expect(second.equals(expected)).toBe(true)
    // both written out: the first's memory again, the same bytes
    writes.completed = 2
    const third = ring.frame(0, 1, 40, size, writes)
    expect(third.buffer).toBe(first.buffer)
    expect(third.byteOffset).toBe(first.byteOffset)
    expect(third.equals(expected)).toBe(true)
    // without a connection (or small), a buffer of its own
    expect(ring.frame(0, 1, 40, size).buffer).not.toBe(third.buffer)
    const small = ring.frame(0, 1, 1, ring.size(1) + 1, writes)
    expect(small.buffer).not.toBe(third.buffer)
    expect(small.equals(Frame.encodeData(0, 1, [json(1)]))).toBe(true)
    // busy since the last trim: kept; idle for a whole trim: dropped
    ring.trim()
    writes.handed++
    writes.completed = writes.handed
    expect(ring.frame(0, 1, 40, size, writes).buffer).toBe(first.buffer)
    ring.trim()
    writes.handed++
    writes.completed = writes.handed
    expect(ring.frame(0, 1, 40, size, writes).buffer).not.toBe(first.buffer)
  })

  it("reuses the chunks of acknowledged envelopes after everything was acknowledged, until a trim finds it idle", () => {
    const ring = new SendRing(1 << 14)
    const json = (seq: number) => JSON.stringify({ seq, pad: "r".repeat(2000) })
    const chunksOf = (from: number, to: number) => {
      const seen = new Set<ArrayBufferLike>()
      // the chunks are private: the buffers behind the envelopes' frames made without an arena are copies, so look
      // at the ring's own slots
      const slots = (ring as unknown as { chunks: Array<Buffer | undefined> }).chunks
      for (let seq = from; seq <= to; seq++) seen.add(slots[seq % slots.length]!.buffer)
      return seen
    }
    let seq = 0
    const burst = (acked: number) => {
      for (let i = 0; i < 1000; i++) {
        seq++
        ring.writeJson(json(seq), Buffer.byteLength(json(seq)), undefined)
        ring.put(seq, acked, Buffer.byteLength(json(seq)))
      }
    }
    burst(0)
    const firstChunks = chunksOf(1, 1000)
    ring.free(1, 1000) // all acknowledged
    burst(1000)
    const again = chunksOf(1001, 2000)
    // the spare chunks of the first burst carry the second (fresh memory only for what they lack)
    expect([...again].filter((chunk) => firstChunks.has(chunk)).length).toBeGreaterThanOrEqual(4)
    for (let s = 1001; s <= 2000; s++) expect(ring.jsonOf(s)).toBe(json(s))
    ring.free(1001, 2000)
    ring.trim()
    ring.trim() // nothing put between the two: the spares go
    burst(2000)
    const late = chunksOf(2001, 3000)
    expect([...late].filter((chunk) => again.has(chunk)).length).toBeLessThanOrEqual(1) // the chunk it writes in
  })

  it("counts the bytes it holds (each envelope with its comma) as they are put, freed, moved and cleared", () => {
    const ring = new SendRing(1 << 12)
    const json = (seq: number) => JSON.stringify({ seq, pad: "q".repeat(seq % 50) })
    const bytes = (seq: number) => Buffer.byteLength(json(seq)) + 1
    let acked = 0
    let expected = 0
    for (let seq = 1; seq <= 1000; seq++) {
      ring.writeJson(json(seq), bytes(seq) - 1, undefined)
      ring.put(seq, acked, bytes(seq) - 1) // the slots double (and move) along the way
      expected += bytes(seq)
      if (seq % 64 === 0) {
        for (let s = acked + 1; s <= seq - 40; s++) expected -= bytes(s)
        ring.free(acked + 1, seq - 40)
        acked = seq - 40
      }
      expect(ring.held).toBe(expected)
    }
    ring.free(acked + 1, 1000)
    expect(ring.held).toBe(0)
    ring.writeJson(json(1001), bytes(1001) - 1, undefined)
    ring.put(1001, 1000, bytes(1001) - 1)
    expect(ring.held).toBe(bytes(1001))
    ring.clear()
    expect(ring.held).toBe(0)
  })
})
