/**
 * A connection's frame decoder parses a data frame envelope by envelope, and only the payload of an envelope whose
 * head and tail it has seen before. Whatever the frame, its result is the whole frame's `JSON.parse` (each envelope
 * numbered) or the same error: held to that on generated streams of frames (payloads that hold the text around
 * envelopes, nested envelopes, escapes, whitespace, duplicate and `__proto__` keys, deep nesting, asks, 100 senders,
 * truncated and corrupted frames), and on a live node fed by a raw peer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Result } from "effect"
import * as RawPeer from "../../../test/support/raw-peer.ts"
import { Envelope, Frame, type Transport, WebSocket } from "../src/index.ts"
import { FrameDecoder } from "../src/internal/frameDecoder.ts"
import { envelopeText, frameBytes, head, pairs, same, stream } from "./support/frames.ts"
import { generator } from "./support/generator.ts"
import { eventually, fast } from "./support/harness.ts"

describe("FrameDecoder", () => {
  it("decodes a sender's tells as JSON.parse does, parsing their heads once and sharing their addresses", () => {
    const decoder = new FrameDecoder()
    const [pair] = pairs(1)
    const g = generator(1)
    for (let f = 0; f < 50; f++) {
      const texts = Array.from(
        { length: 20 },
        (_, i) => pair!.head + JSON.stringify({ _tag: "Tick", n: i }) + pair!.tail
      )
      same(decoder, Frame.encodeData(f, 1 + f * 20, texts), `frame ${f}`)
      const envelopes = (Result.getOrThrow(decoder.decode(frameBytes(g, 1, texts, 0), true)) as Frame.Data).envelopes
      const [a, b] = envelopes as ReadonlyArray<Envelope.Envelope>
      assert.strictEqual(a!.to, b!.to)
      assert.strictEqual(a!.from, b!.from)
      assert.isTrue(Object.isFrozen(a!.to))
    }
    assert.strictEqual(decoder.decoded, 100)
    assert.strictEqual(decoder.failed, 0)
  })

  it("vouches for the envelopes it made of a head and tail found valid and a payload it read, from the first", () => {
    const decoder = new FrameDecoder()
    const [pair] = pairs(1)
    const bogus = `${head("bogus", "reader", "/user/a")},"payload":`
    const badSender = ',"from":{"node":"writer","path":7}}'
    const tick = (n: number) => JSON.stringify({ _tag: "Tick", n })
    const counts = [
      [[pair!.head + tick(1) + pair!.tail], 0], // a head seen once: not learned, checked by the inbound side
      [[pair!.head + tick(1) + pair!.tail], 0], // learned from this frame (its second sight): checked all the same
      [[1, 2, 3].map((n) => pair!.head + tick(n) + pair!.tail), 3],
      [[pair!.head + tick(1) + pair!.tail, bogus + tick(2) + pair!.tail, pair!.head + tick(3) + pair!.tail], 1],
      [[bogus + tick(1) + pair!.tail, pair!.head + tick(2) + pair!.tail], 0],
      [[pair!.head + tick(1) + pair!.tail, pair!.head + tick(2) + badSender, pair!.head + tick(3) + badSender], 1],
      [[pair!.head + tick(1) + badSender], 0],
      [
        [
          pair!.head + tick(1) + pair!.tail,
          pair!.head + JSON.stringify(Array.from({ length: 40 }, () => 1)) + pair!.tail
        ],
        1
      ]
    ] as const
    counts.forEach(([texts, valid], f) => {
      same(decoder, Frame.encodeData(0, 1, texts), `frame ${f}`)
      assert.strictEqual(decoder.valid, valid, `frame ${f}`)
    })
    same(decoder, Frame.encode({ type: "ack", ack: 1 }), "ack")
    assert.strictEqual(decoder.valid, 0)
  })

  it("clean streams: one sender, 100 senders, asks and replies mixed in, all as JSON.parse", () => {
    for (const [seed, senders] of [
      [11, pairs(1)],
      [12, pairs(100)],
      [13, [...pairs(3), ...pairs(3, "ask"), ...pairs(2, "reply")]],
      [14, pairs(40, "tell", 3)]
    ] as const) {
      const decoder = stream(seed, 300, senders, 0)
      // payloads with arrays of nested envelopes fail a piece now and then
      assert.isAbove(decoder.decoded, 200, `seed ${seed}`)
    }
  })

  it("odd and hostile streams: the same frames or the same errors, every case", () => {
    for (let seed = 100; seed < 130; seed++)
      stream(seed, 60, pairs(1 + (seed % 5) * 20, "tell", 1 + (seed % 3) * 10), (seed % 4) * 0.25 + 0.05)
  })

  it("every byte of a frame changed, every cut: the same frames or the same errors", () => {
    const senders = pairs(4, "tell", 2)
    const texts = [0, 2, 0].map((i, n) => `${senders[i]!.head}{"n":${n}}${senders[i]!.tail}`)
    const good = Frame.encodeData(10, 20, texts)
    /** A decoder that knows the heads and tails, and was not failed before (so it tries the frame piece by piece). */
    const primed = () => {
      const decoder = new FrameDecoder()
      same(decoder, Frame.encodeData(0, 1, texts), "primed")
      assert.strictEqual(decoder.decoded, 1)
      return decoder
    }
    for (let at = 0; at < good.length; at++) {
      same(primed(), good.subarray(0, at), `cut at ${at}`)
      for (const byte of [0x7d, 0x2c, 0x22, 0x30]) {
        const bytes = Buffer.from(good)
        bytes[at] = byte
        same(primed(), bytes, `byte ${at} = ${String.fromCharCode(byte)}`)
      }
    }
  })

  it("a payload that holds the text between envelopes is never cut there", () => {
    const decoder = new FrameDecoder()
    const [pair] = pairs(1)
    const env = (payload: string) => pair!.head + payload + pair!.tail
    const next = `,{"kind":"tell","to":{"node":"reader","path":"/user/consumer-0"},"payload":`
    const cases = [
      `{"a":"${pair!.tail.replaceAll('"', '\\"')}${next.replaceAll('"', '\\"')}"}`, // in a string
      `[${pair!.head}1${pair!.tail},${pair!.head}2${pair!.tail}]`, // as nested envelopes
      `{"x":${pair!.head}{"y":[1]}${pair!.tail}}`,
      `[{"kind":"a"},{"kind":"b"}]`,
      `"}]}"`,
      "1e5"
    ]
    for (let f = 0; f < 40; f++) {
      const texts = cases.map((c) => env(c))
      same(decoder, Frame.encodeData(0, 1 + f * texts.length, texts), `frame ${f}`)
      same(decoder, Frame.encodeData(0, 1, [env(cases[f % cases.length]!)]), `single ${f}`)
    }
  })

  it("payloads of objects with a kind (message parts, say) are decoded piece by piece too", () => {
    const decoder = new FrameDecoder()
    const senders = pairs(4) // index 3 has no sender: its tail is `}`
    const parts = `{"_tag":"Say","parts":[{"kind":"text","text":"hi"},{"kind":"image","url":"u"},{"kind":"x"}]}`
    for (let f = 0; f < 50; f++) {
      const texts = [0, 3, 1, 3, 2].map((i) => senders[i]!.head + parts + senders[i]!.tail)
      same(decoder, Frame.encodeData(0, 1 + f * 5, texts), `frame ${f}`)
    }
    assert.strictEqual(decoder.decoded, 50)
    assert.strictEqual(decoder.throws, 0)
  })

  it("a frame of one ask or one reply is decoded as JSON.parse and teaches no tell head; a lone tell seen again teaches its own", () => {
    const decoder = new FrameDecoder()
    const [pair] = pairs(1)
    const to = '"to":{"node":"reader","path":"/user/a"}'
    for (let n = 1; n <= 20; n++) {
      const ask = `{"kind":"ask",${to},"payload":{"_tag":"Echo","n":${n}},"correlationId":"${n}","deadline":${1e12 + n}}`
      const reply = `{"kind":"reply",${to},"payload":{"_tag":"Success","value":${n}},"correlationId":"${n}"}`
      same(decoder, Frame.encodeData(n, n, [ask]), `ask ${n}`)
      same(decoder, Frame.encodeData(n, n, [reply]), `reply ${n}`)
    }
    assert.strictEqual(decoder.kept, 0)
    assert.strictEqual(decoder.decoded, 40)
    same(decoder, Frame.encodeData(1, 1, [`{"kind":"ask",${to},"payload":{"x":[1}`]), "a broken ask")
    assert.strictEqual(decoder.failed, 1)
    for (let n = 0; n < 4; n++) same(decoder, Frame.encodeData(1, 1, ['{"kind":"reply"}']), "after it")
    // a tell of a sender not seen yet, alone in its frame: parsed whole; its head and tail are kept when seen again
    same(decoder, Frame.encodeData(0, 1, [`${pair!.head}{"n":1}${pair!.tail}`]), "lone tell")
    assert.strictEqual(decoder.kept, 0)
    same(decoder, Frame.encodeData(0, 1, [`${pair!.head}{"n":1}${pair!.tail}`]), "lone tell again")
    assert.strictEqual(decoder.kept, 2)
    same(
      decoder,
      Frame.encodeData(0, 2, [`${pair!.head}{"n":2}${pair!.tail}`, `${pair!.head}{"n":3}${pair!.tail}`]),
      "tells"
    )
    assert.strictEqual(decoder.valid, 2)
  })

  it("a new sender after one without a sender is learned, not backed off from", () => {
    const decoder = new FrameDecoder()
    const senders = pairs(16) // 3 and 10 have no sender: their tail `}` ends every other tail too
    for (let f = 0; f < 64; f++) {
      const texts = senders.slice(0, 1 + (f % 16)).map((p) => `${p.head}{"n":${f}}${p.tail}`)
      same(decoder, Frame.encodeData(0, 1, texts), `frame ${f}`)
    }
    assert.strictEqual(decoder.failed, 0)
    assert.strictEqual(decoder.decoded, 64)
  })

  it("pieces that keep failing in a frame cost at most three throws, then the frame is parsed whole", () => {
    const decoder = new FrameDecoder()
    const h = pairs(7)[3]!.head // the 4th (index 3) has no sender: its tail is `}`
    same(decoder, Frame.encodeData(0, 1, [`${h}0}`]), "learn")
    // a field after the payload that is not kept: the piece before `}` is `1,"traceparent":...`, which throws
    const traced = `${h}1,"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`
    for (let f = 0; f < 200; f++) same(decoder, Frame.encodeData(0, 1 + f * 20, Array(20).fill(traced)), `frame ${f}`)
    assert.isAtMost(decoder.throws, 3 * decoder.failed)
    assert.isAtMost(decoder.failed, 9)
  })

  it("keeps at most 256 heads and 16 tails per head, none longer than 512 characters", () => {
    const decoder = new FrameDecoder()
    for (let f = 0; f < 300; f++) {
      const texts = Array.from({ length: 20 }, (_, i) => {
        const path = i === 19 ? `/user/${"x".repeat(600)}` : `/user/c${f}`
        return `${head("tell", "reader", path)},"payload":${f},"from":{"node":"writer","path":"/user/p${i}"}}`
      })
      same(decoder, Frame.encodeData(0, 1 + f * 20, texts), `frame ${f}`)
    }
    assert.strictEqual(decoder.kept, 256 * 17)
    assert.strictEqual(decoder.failed, 0)
  })

  it("backs off after a frame it could not decode: payloads that keep failing cost a throw per many frames", () => {
    const decoder = new FrameDecoder()
    const [pair] = pairs(1)
    // an array of envelope-like objects: its `},{"kind":"x","to":` looks like the end of the envelope
    const text = `${pair!.head}[{"kind":"x","to":1},{"kind":"y","to":2}]${pair!.tail}`
    for (let f = 0; f < 1000; f++) same(decoder, Frame.encodeData(0, 1 + f, [text]), `frame ${f}`)
    assert.isAtMost(decoder.failed, 9)
    assert.isAtMost(decoder.throws, 9)
    // and it comes back once the stream decodes again
    const good = `${pair!.head}{"n":1}${pair!.tail}`
    for (let f = 0; f < 2000; f++) same(decoder, Frame.encodeData(0, 1 + f, [good]), `good ${f}`)
    assert.isAbove(decoder.decoded, 900)
  })

  it.live(
    "a node delivers what a raw peer sends, decoded as JSON.parse would, and answers bad envelopes the same",
    () =>
      Effect.gen(function* () {
        const node = yield* WebSocket.make({
          ...fast,
          failureDetector: { _tag: "Timeout", timeout: "1 minute" }, // the raw peer sends no heartbeats
          node: "reader",
          listen: { port: 0 }
        })
        const delivered: Array<Envelope.Envelope> = []
        yield* node.receiveWith({ deliver: (_, envelope) => delivered.push(envelope), peer: () => {} })
        const peer = yield* Effect.acquireRelease(
          Effect.promise(() => RawPeer.open(Option.getOrThrow(node.address))),
          (peer) => Effect.sync(() => peer.socket.terminate())
        )
        yield* Effect.promise(() => RawPeer.join(peer, RawPeer.identity("writer"), fast.secret as string))
        const g = generator(7)
        const senders = pairs(20)
        const expected: Array<unknown> = []
        const errors: Array<unknown> = []
        let first = 1
        for (let f = 0; f < 150; f++) {
          const texts = Array.from({ length: 1 + g.int(20) }, () => envelopeText(g, senders, 0.15))
          const bytes = Frame.encodeData(0, first, texts)
          peer.send(bytes)
          const parsed = JSON.parse(bytes.toString("utf8")) as Frame.Data
          parsed.envelopes.forEach((e, i) => {
            const seq = first + i
            const decoded = Envelope.decode(e)
            if (Result.isSuccess(decoded) && decoded.success.to.node === "reader") {
              expected.push({ ...(e as object), seq })
            } else {
              const problem = Result.isFailure(decoded)
                ? decoded.failure
                : { field: "to.node", message: "addressed to node elsewhere, not reader" }
              const code = Result.isFailure(decoded) ? "bad-envelope" : "misaddressed"
              errors.push({ type: "error", code, message: problem.message, field: problem.field, seq })
            }
          })
          first += texts.length
        }
        yield* eventually(
          Effect.sync(() => delivered.length),
          (n) => n === expected.length
        )
        assert.deepStrictEqual(delivered, expected)
        const answered: Array<unknown> = []
        while (answered.length < errors.length) answered.push(yield* Effect.promise(() => peer.next()))
        assert.deepStrictEqual(answered, errors)
        assert.isAbove(errors.length, 20)
        const stats: Transport.Stats = yield* node.stats
        assert.strictEqual(stats.envelopesIn, expected.length)
        assert.strictEqual(stats.badFrames, errors.length)
      })
  )
})
