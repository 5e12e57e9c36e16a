/**
 * A frame of one ask or one reply is read without `JSON.parse` once the connection knows its head (and its sender):
 * the result is still the whole frame's `JSON.parse` (the envelope numbered) or the same error, and the envelope it
 * vouches for is valid. Every other form (fields in another order or not known, escapes, whitespace, bad values,
 * payloads the reader declines, cut and spoiled frames) falls back to the whole parse: held to that case by case,
 * on generated streams, and on every cut and changed byte of a known ask and reply.
 */
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { Envelope, Frame } from "../src/index.ts"
import { FrameDecoder } from "../src/internal/frameDecoder.ts"
import { same } from "./support/frames.ts"
import { type Generator, generator } from "./support/generator.ts"

const TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
const reader = { node: "reader", path: "/user/consumer" } as Envelope.Envelope["to"]
const back = { node: "writer", path: "/system" } as Envelope.Envelope["to"]
const sender = (n: number) => ({ node: "writer", path: `/user/caller-${n}` }) as Envelope.Envelope["to"]

/** An ask as the runtime makes it (`Envelope.make`: its fields in that order). */
const ask = (n: number, options: { from?: number; trace?: boolean; deadline?: boolean; payload?: unknown } = {}) =>
  JSON.stringify(
    Envelope.make({
      kind: "ask",
      to: reader,
      from: options.from === undefined ? undefined : sender(options.from),
      correlationId: `${n}`,
      traceparent: options.trace === true ? TRACE : undefined,
      deadline: options.deadline === false ? undefined : 1_765_000_000_000 + n,
      payload: (options.payload ?? { _tag: "Echo", n }) as Envelope.Envelope["payload"]
    })
  )
const reply = (n: number, payload: unknown = { _tag: "Success", value: n }) =>
  JSON.stringify(
    Envelope.make({
      kind: "reply",
      to: back,
      correlationId: `${n}`,
      payload: payload as Envelope.Envelope["payload"]
    })
  )

/** Counts the decoder's whole parses (`JSON.parse` of a frame; a payload's own is not one) while a test runs. */
let parses = 0
const parse = JSON.parse
beforeEach(() => {
  parses = 0
  JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) => {
    if (text.startsWith('{"type":')) parses++
    return parse(text, reviver)
  }) as typeof JSON.parse
})
afterEach(() => {
  JSON.parse = parse
})

/** `same` (the decoder against `Frame.decode`, which parses once), and how many parses the decoder made. */
const decodeParses = (decoder: FrameDecoder, bytes: Buffer, label: string): number => {
  const before = parses
  same(decoder, bytes, label)
  return parses - before - 1
}

describe("FrameDecoder: a frame of one ask or one reply", () => {
  it("is read without a whole parse once its head and sender are known, as JSON.parse reads it, and vouched for", () => {
    const decoder = new FrameDecoder()
    const variants = [
      {},
      { from: 1 },
      { from: 2, trace: true },
      { trace: true, deadline: false },
      { deadline: false },
      { payload: [1, "two", { three: null }, -0.5e-3] }
    ]
    for (const [v, options] of variants.entries()) {
      // the first of a head or sender is parsed whole and teaches it; the next ones are read
      for (let n = 1; n <= 5; n++) {
        const parsed = decodeParses(
          decoder,
          Frame.encodeData(n, 100 * v + n, [ask(100 * v + n, options)]),
          `ask ${v}/${n}`
        )
        const known = n > 1 || (v > 0 && options.from === undefined)
        assert.strictEqual(parsed, known ? 0 : 1, `ask ${v}/${n} parses`)
        assert.strictEqual(decoder.valid, known ? 1 : 0, `ask ${v}/${n} vouched`)
      }
    }
    for (let n = 1; n <= 5; n++) {
      const parsed = decodeParses(decoder, Frame.encodeData(n, n, [reply(n)]), `reply ${n}`)
      assert.strictEqual(parsed, n === 1 ? 1 : 0, `reply ${n} parses`)
    }
    // void replies, failures, long ids (made by JSON.parse: a fresh string), ids of any characters but escapes
    same(decoder, Frame.encodeData(1, 9, [reply(9, { _tag: "Success" })]), "void reply")
    assert.strictEqual(decoder.valid, 1)
    const long = `{"kind":"reply","to":{"node":"writer","path":"/system"},"payload":1,"correlationId":"${"é-".repeat(60)}"}`
    same(decoder, Frame.encodeData(1, 10, [long]), "long id")
    assert.strictEqual(decoder.valid, 1)
    // one head per recipient, one sender per caller
    assert.strictEqual(decoder.requestsKept, 2 + 2)
    assert.strictEqual(decoder.kept, 0) // no tell's head is learned from an ask
  })

  it("falls back to the whole parse for every form it does not read: the same frame, or the same error", () => {
    const to = '"to":{"node":"reader","path":"/user/consumer"}'
    const head = `{"kind":"ask",${to},"payload":{"_tag":"Echo","n":1}`
    const forms = [
      `${head},"correlationId":"1","deadline":2,"extra":3}`, // a field not known
      `${head},"deadline":2,"correlationId":"1"}`, // another order
      `${head},"correlationId":"1","correlationId":"2"}`, // a duplicate
      `${head},"correlationId":"\\u0031"}`, // an escape
      `${head},"correlationId":"a\u0001"}`, // a control character: JSON.parse refuses it
      `${head},"correlationId":"${"x".repeat(300)}"}`, // longer than read here
      `${head},"correlationId":1}`, // not a string
      `${head},"correlationId":"1}`, // unterminated
      `${head},"traceparent":"${TRACE.toUpperCase()}"}`, // not a traceparent: refused by the inbound side
      `${head},"traceparent":"${TRACE}0"}`,
      `${head},"traceparent":"short"}`,
      `${head},"deadline":"soon"}`,
      `${head},"deadline":1e400}`, // not finite
      `${head},"deadline":-0}`,
      `${head},"deadline":1.5,"correlationId":"1"}`,
      `${head},"deadline":01}`,
      `${head} ,"correlationId":"1"}`, // whitespace
      `${head},"correlationId":"1" }`,
      `${head},"from":{"node":"writer","path":"/user/unknown"},"correlationId":"1"}`, // a sender not known yet
      `${head},"from":{"node":"writer","path":"\\/user\\/caller-1"},"correlationId":"1"}`, // its own escapes
      `${head},"from":{"node":"writer","path":7},"correlationId":"1"}`, // a bad sender
      `${head},"from":null}`,
      `${head},"seq":3}`, // a sequence number of its own
      `${head},"payload":2}`, // a second payload
      `${head}}`,
      `{"kind":"ask",${to},"payload":${"[".repeat(129)}${"]".repeat(129)},"correlationId":"1"}`, // too deep
      `{"kind":"ask",${to},"payload":${"[".repeat(128)}${"]".repeat(128)},"correlationId":"1"}`, // as deep as may be
      `{"kind":"ask",${to},"payload":[${Array(40).fill(1)}],"correlationId":"1"}`,
      `${head},"correlationId":"1","deadline":1234567890123456}`, // more digits than read here
      `{"kind":"ask",${to},"payload":","deadline":1","deadline":1}`, // a payload that ends as a field would
      `{"kind":"ask",${to},"payload":{"a" : 1},"correlationId":"1"}`,
      `{"kind":"ask",${to},"payload":{"x":[1}`, // not JSON
      `{"kind":"ask",${to},"payload":}`,
      `{"kind":"ask",${to}}`,
      `{"kind":"ask","to":{"node":"elsewhere","path":"/user/consumer"},"payload":1}`, // misaddressed
      `{"kind":"reply","to":{"node":"bad node!","path":"/system"},"payload":1}`, // a bad address
      // a frame whose whole parse is no valid data frame (a second `first`, 0), on the ask's and a lone tell's way
      `${head},"correlationId":"1"}],"first":0,"x":[{"a":1}`,
      `{"kind":"tell",${to},"payload":1}],"first":0,"x":[{"a":1}`
    ]
    forms.forEach((form, i) => {
      const decoder = new FrameDecoder()
      // primed: its head and sender known
      same(decoder, Frame.encodeData(0, 1, [ask(1, { from: 1 })]), `primed ${i}`)
      same(decoder, Frame.encodeData(0, 2, [ask(2, { from: 1 })]), `primed ${i}`)
      assert.strictEqual(decoder.valid, 1, `primed ${i}`)
      same(decoder, Frame.encodeData(0, 3, [form]), `form ${i}: ${form}`)
      same(decoder, Frame.encodeData(0, 4, [ask(4, { from: 1 })]), `after form ${i}`)
    })
  })

  it("every byte of a known ask or reply changed, every cut: the same frames or the same errors", () => {
    for (const text of [ask(12345, { from: 3, trace: true }), reply(678)]) {
      const good = Frame.encodeData(10, 20, [text])
      const primed = () => {
        const decoder = new FrameDecoder()
        same(decoder, good, "primed")
        same(decoder, good, "primed")
        assert.strictEqual(decoder.valid, 1)
        return decoder
      }
      for (let at = 0; at < good.length; at++) {
        same(primed(), good.subarray(0, at), `cut at ${at}`)
        for (const byte of [0x7d, 0x2c, 0x22, 0x30, 0x5c, 0x20, 0x01]) {
          const bytes = Buffer.from(good)
          bytes[at] = byte
          same(primed(), bytes, `byte ${at} = ${byte}`)
        }
      }
    }
  })

  it("generated streams of asks and replies, clean and hostile, to many actors from many callers", () => {
    const value = (g: Generator, depth: number): unknown => {
      switch (g.int(depth > 2 ? 4 : 6)) {
        case 0:
          return g.pick(["", "a", "é 日本", '"q"', "\\", "}]}", ',"correlationId":"1"', "x".repeat(20)])
        case 1:
          return g.pick([0, -0, 1.5, -2e-9, 12345678901234, 1e21])
        case 2:
          return g.pick([true, false, null])
        case 3:
          return { _tag: "Echo", n: g.int(1000) }
        case 4:
          return Array.from({ length: g.int(5) }, () => value(g, depth + 1))
        default:
          return Object.fromEntries(Array.from({ length: g.int(5) }, (_, i) => [`k${i}`, value(g, depth + 1)]))
      }
    }
    for (let seed = 1; seed <= 8; seed++) {
      const g = generator(seed)
      const decoder = new FrameDecoder()
      const odd = (seed % 4) * 0.1
      for (let f = 1; f <= 400; f++) {
        let text = g.chance(0.5)
          ? reply(g.int(1e6), { _tag: g.pick(["Success", "Failure", "Error"]), value: value(g, 0) })
          : JSON.stringify(
              Envelope.make({
                kind: "ask",
                to: { node: "reader", path: `/user/a${g.int(6)}` } as Envelope.Envelope["to"],
                from: g.chance(0.3) ? undefined : sender(g.int(12)),
                correlationId: g.chance(0.05) ? `id-${"z".repeat(g.int(30))}` : `${g.int(1e9)}`,
                traceparent: g.chance(0.2) ? TRACE : undefined,
                deadline: g.chance(0.8) ? g.int(1e13) : undefined,
                payload: value(g, 0) as Envelope.Envelope["payload"]
              })
            )
        if (g.chance(odd)) {
          const at = g.int(text.length)
          text = g.chance(0.5)
            ? text.slice(0, at) + g.pick([" ", '"', "\\", ",", "}", "{", "1", '"x":1,']) + text.slice(at)
            : text.slice(0, at) + text.slice(at + 1)
        }
        same(decoder, Frame.encodeData(f, f, [text]), `seed ${seed} frame ${f}`)
      }
      assert.isAtMost(decoder.requestsKept, 64 * 9, `seed ${seed}`)
    }
  })

  it("keeps at most 64 heads and 8 senders per head, none longer than 512 characters", () => {
    const decoder = new FrameDecoder()
    for (let a = 0; a < 100; a++)
      for (let s = 0; s < 12; s++) {
        const path = s === 11 ? `/user/${"x".repeat(600)}` : `/user/caller-${s}`
        const text = `{"kind":"ask","to":{"node":"reader","path":"/user/a${a}"},"payload":1,"from":{"node":"writer","path":"${path}"},"correlationId":"${s}"}`
        same(decoder, Frame.encodeData(0, 1, [text]), `actor ${a} sender ${s}`)
      }
    assert.strictEqual(decoder.requestsKept, 64 * (1 + 8))
    const path = `/user/${"y".repeat(600)}`
    same(
      decoder,
      Frame.encodeData(0, 1, [`{"kind":"ask","to":{"node":"reader","path":"${path}"},"payload":1}`]),
      "long"
    )
    same(
      decoder,
      Frame.encodeData(0, 1, [`{"kind":"ask","to":{"node":"reader","path":"${path}"},"payload":2}`]),
      "long"
    )
    assert.strictEqual(decoder.valid, 0)
  })
})
