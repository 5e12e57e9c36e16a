/**
 * Generated data frames for the frame decoder's tests: envelopes as a sender's templates write them, and the odd
 * and hostile forms a foreign sender may write (payloads that hold the text around envelopes, nested envelopes,
 * escapes, whitespace, duplicate and `__proto__` keys, deep nesting, cut and spoiled frames); `same` holds a
 * decoder to `Frame.decode` on one message.
 *
 * @example
 * ```ts
 * const decoder = stream(1, 200, pairs(3), 0.1) // 200 generated frames, each held to Frame.decode
 * ```
 */
import { assert } from "@effect/vitest"
import { Result } from "effect"
import { Envelope, Frame } from "../../src/index.ts"
import { FrameDecoder } from "../../src/internal/frameDecoder.ts"
import { type Generator, generator } from "./generator.ts"

export const head = (kind: string, node: string, path: string) =>
  `{"kind":"${kind}","to":{"node":"${node}","path":"${path}"}`
/** Texts that look like the text around and between envelopes, to be found inside payloads. */
const lookalikes = [
  "},{",
  '},{"kind":"',
  '},{"kind":"tell","to":{"node":"reader","path":"/user/a"},"payload":',
  ',"payload":',
  '"payload":',
  ',"from":{"node":"writer","path":"/user/p0"}}',
  "}]}",
  "]}",
  "}"
]
const strings = [
  "",
  "Tick",
  ...lookalikes,
  "é ü 日本語 🎭",
  "\u2028\u2029",
  '\\ " \n \t \u0000 \u001f',
  "\ud800 lone",
  "a".repeat(300)
]
const numbers = ["0", "-0", "1e5", "1E+5", "-1.5e-7", "123456789012345678901234567890", "0.1", "1e308", "42"]
const keys = ["_tag", "n", "kind", "to", "payload", "from", "seq", "__proto__", "1", "", "},{"]

/**
 * A JSON value as text, with the escapes, number forms and keys JSON allows (`ws`: with whitespace; `hostile`:
 * with envelopes nested in it).
 */
const valueText = (g: Generator, depth: number, ws: boolean, hostile: boolean): string => {
  const space = () => (ws && g.chance(0.3) ? g.pick([" ", "\n", "\t ", "\r\n"]) : "")
  const roll = g.int(depth > 4 ? 5 : hostile ? 8 : 7)
  switch (roll) {
    case 0:
      return g.chance(0.2) ? '"\\u0041\\/\\"\\\\"' : JSON.stringify(g.pick(strings))
    case 1:
      return g.pick(numbers)
    case 2:
      return g.pick(["true", "false", "null"])
    case 3:
      return JSON.stringify({ _tag: "Tick", n: g.int(1e6) })
    case 4:
      return `"${g.pick(lookalikes).replaceAll('"', '\\"')}"`
    case 5: {
      const items = Array.from({ length: g.int(4) }, () => space() + valueText(g, depth + 1, ws, hostile) + space())
      return `[${items.join(",")}]`
    }
    case 6: {
      // duplicate keys come out too: JSON.parse keeps the last
      const members = Array.from(
        { length: g.int(4) },
        () => `${space()}${JSON.stringify(g.pick(keys))}${space()}:${space()}${valueText(g, depth + 1, ws, hostile)}`
      )
      return `{${members.join(",")}}`
    }
    default: {
      // an envelope inside a payload, or several in an array: the text between envelopes, nested
      const inner = () =>
        `${head("tell", "reader", "/user/a")},"payload":${valueText(g, depth + 2, ws, hostile)}${g.chance(0.5) ? ',"from":{"node":"writer","path":"/user/p0"}' : ""}}`
      return g.chance(0.5) ? inner() : `[${inner()},${inner()}]`
    }
  }
}

const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`

export interface Pair {
  readonly head: string
  readonly tail: string
}

/**
 * `count` senders' templates (a tell's head and tail), as remote refs make them, to `consumers` actors (as many as
 * senders unless given: then several senders tell one actor, one head with several tails); some without a sender.
 */
export const pairs = (count: number, kind = "tell", consumers = count): ReadonlyArray<Pair> =>
  Array.from({ length: count }, (_, i) => {
    const template = Envelope.template({
      kind: kind as Envelope.Kind,
      to: { node: "reader", path: `/user/consumer-${i % consumers}` } as Envelope.Envelope["to"],
      from: i % 7 === 3 ? undefined : ({ node: "writer", path: `/user/producer-${i}` } as Envelope.Envelope["to"])
    })
    return { head: template.head!, tail: template.tail! }
  })

/** One envelope's text: mostly a template's, else one of the odd forms a foreign or hostile sender may write. */
export const envelopeText = (g: Generator, senders: ReadonlyArray<Pair>, odd: number): string => {
  const ws = g.chance(odd * 0.3)
  const payload = g.chance(0.01) ? nested(g.pick([127, 128, 129, 600])) : valueText(g, 0, ws, odd > 0)
  const { head: h, tail } = g.pick(senders)
  if (!g.chance(odd)) return h + payload + tail
  switch (g.int(11)) {
    case 0: // an ask: a correlation id and a deadline after the payload
      return `${head("ask", "reader", "/user/a")},"payload":${payload},"from":{"node":"writer","path":"/user/p0"},"correlationId":"c-${g.int(1e9)}","deadline":${g.int(1e13)}}`
    case 1: // another key order
      return `{"to":{"node":"reader","path":"/user/a"},"kind":"tell","payload":${payload}}`
    case 2: // whitespace between the fields
      return `{ "kind": "tell", "to": {"node":"reader","path":"/user/a"}, "payload": ${payload} }`
    case 3: // a duplicate payload, or a duplicate kind in the tail
      return g.chance(0.5) ? `${h + payload},"payload":${payload}}` : `${h + payload},"kind":"ask"}`
    case 4: // fields the decoder does not keep
      return `${h + payload},"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`
    case 5: // a sequence number of its own
      return `${h + payload},"seq":${g.pick(["3", "0", '"x"'])}}`
    case 6: // bad fields: a kind, an address
      return g.chance(0.5)
        ? `${head("bogus", "reader", "/user/a")},"payload":${payload}}`
        : `{"kind":"tell","to":{"node":"reader","path":7},"payload":${payload}}`
    case 7: // for another node
      return `${head("tell", "elsewhere", "/user/a")},"payload":${payload}}`
    case 8: // not an object
      return g.pick(["5", '"x"', "[]", "null", "{}"])
    case 9: // a sender with an escaped path (other bytes, same value)
      return `${h + payload},"from":{"node":"writer","path":"\\/user\\/p0"}}`
    default: // no payload
      return `${head("tell", "reader", "/user/a")}}`
  }
}

/** A data frame's bytes, sometimes spoiled (whitespace, junk after it, cut short, a byte changed). */
export const frameBytes = (g: Generator, first: number, texts: ReadonlyArray<string>, odd: number): Buffer => {
  const bytes = Frame.encodeData(g.int(100), first, texts)
  if (!g.chance(odd * 0.3)) return bytes
  const text = bytes.toString("utf8")
  switch (g.int(6)) {
    case 0:
      return bytes.subarray(0, g.int(bytes.length))
    case 1:
      return Buffer.concat([bytes, Buffer.from(g.pick([" ", "x", "]}", ",{}"]))])
    case 2: {
      const copy = Buffer.from(bytes)
      copy[g.int(copy.length)] = g.pick([0x7d, 0x2c, 0x7b, 0x22, 0x5d, 0x20, 0xff])
      return copy
    }
    case 3:
      return Buffer.from(text.replace('"envelopes":[', '"envelopes": [').replace(/]}$/, "] }"))
    case 4:
      return Buffer.from(text.replace(/,"first":\d+/, g.pick([',"first":0', ',"first":01', ',"first":1.0', ""])))
    default:
      return Buffer.from(`{"type":"data","ack":0,"first":${first},"envelopes":[]}`)
  }
}

/** The whole frame's `JSON.parse`, each envelope the decoder numbered (it numbers what it builds) numbered too. */
const numbered = (whole: Frame.Frame, decoded: Frame.Frame): Frame.Frame => {
  if (whole.type !== "data" || decoded.type !== "data") return whole
  return {
    ...whole,
    envelopes: whole.envelopes.map((e, i) => {
      const mine = decoded.envelopes[i]
      const numberedHere = typeof mine === "object" && mine !== null && Object.hasOwn(mine, "seq")
      return numberedHere && typeof e === "object" && e !== null && !Object.hasOwn(e, "seq")
        ? { ...e, seq: whole.first + i }
        : e
    })
  }
}

/** Holds the decoder to `Frame.decode` on one message: the same frame (values and key order) or the same problem. */
export const same = (decoder: FrameDecoder, bytes: Buffer, label: string) => {
  const whole = Frame.decode(bytes, true)
  const decoded = decoder.decode(bytes, true)
  if (Result.isFailure(whole)) {
    assert.deepStrictEqual(decoded, whole, label)
    return
  }
  assert.isTrue(Result.isSuccess(decoded), label)
  const mine = Result.getOrThrow(decoded)
  const expected = numbered(whole.success, mine)
  assert.deepStrictEqual(mine, expected, label)
  assert.strictEqual(JSON.stringify(mine), JSON.stringify(expected), label)
  // the envelopes it vouches for (the inbound side checks them no more) are valid
  const vouched = mine.type === "data" ? mine.envelopes.slice(0, decoder.valid) : []
  vouched.forEach((e, i) => {
    assert.isTrue(Envelope.isEnvelope(e), `${label}: envelope ${i} vouched for`)
  })
  // and the inbound side's verdict on every envelope is the same (the same problem for a bad one)
  if (mine.type === "data" && expected.type === "data") {
    mine.envelopes.forEach((e, i) => {
      assert.deepStrictEqual(Envelope.decode(e), Envelope.decode(expected.envelopes[i]), `${label} envelope ${i}`)
    })
  }
}

/** A stream of generated frames through one decoder, held to `Frame.decode`; returns the decoder. */
export const stream = (seed: number, frames: number, senders: ReadonlyArray<Pair>, odd: number) => {
  const g = generator(seed)
  const decoder = new FrameDecoder()
  let first = 1
  for (let f = 0; f < frames; f++) {
    const texts = Array.from({ length: 1 + g.int(g.chance(0.2) ? 60 : 6) }, () => envelopeText(g, senders, odd))
    same(decoder, frameBytes(g, first, texts, odd), `seed ${seed} frame ${f}`)
    first += texts.length
    if (g.chance(0.05)) same(decoder, Frame.encode({ type: "ack", ack: first }), `seed ${seed} ack ${f}`)
  }
  return decoder
}
