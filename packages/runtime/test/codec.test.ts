import { inspect, isDeepStrictEqual } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Exit, Schema } from "effect"
import { ActorRef, Protocol } from "../src/index.ts"
import { codecOf, decodeWith, encodeWith, toJson } from "../src/internal/remote/codec.ts"
import { writeNumber, writeString } from "../src/internal/remote/plainStruct.ts"

/**
 * Remote messages of plain structs (strings, numbers, booleans, literals) skip the Schema's parser on both
 * sides: these tests hold that shortcut to the Schema's own answer, on values a peer or a caller could send.
 */
const Plain = Protocol.make("Plain", {
  Tick: { n: Schema.Number },
  Mixed: { s: Schema.String, b: Schema.Boolean, l: Schema.Literal("x"), k: Schema.Literal(3) },
  Optional: { o: Schema.optionalKey(Schema.String), n: Schema.Number }
})
const Other = Protocol.make("Other", {
  Checked: { n: Schema.Finite },
  Transformed: { n: Schema.NumberFromString },
  Nested: { items: Schema.Array(Schema.Number) },
  // checked in place (one walk), not by the Schema, when they are their own form: a wide payload's cost
  Wide: { data: Schema.Record(Schema.String, Schema.Number) },
  Loose: { data: Schema.Json, tag: Schema.optionalKey(Schema.Literals(["a", "b"])) },
  Opaque: { data: Schema.Unknown, list: Schema.Array(Schema.NullOr(Schema.String)) },
  WithRef: { to: ActorRef.schema(Plain) }
})

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}

const values: ReadonlyArray<unknown> = [
  undefined,
  null,
  0,
  -0,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  "x",
  'é "quoted"\n\u2028 \ud800',
  "\u{1f600}",
  "3",
  3,
  true,
  false,
  [],
  {},
  new Date(0),
  10n,
  { a: 1, b: 2 },
  { a: 1, b: "2" },
  { a: Number.NaN },
  { a: undefined },
  { a: { b: [1, null, "x"] } },
  [1, "x", null],
  ["x", null],
  [undefined],
  Object.create(null)
]

/** Objects built from the fields of every message, with keys dropped, added, retyped, on odd prototypes. */
const candidates = (tag: string, keys: ReadonlyArray<string>): Array<unknown> => {
  const next = random(tag.length * 7919)
  const pick = () => values[Math.floor(next() * values.length)]
  const out: Array<unknown> = []
  for (let i = 0; i < 3000; i++) {
    const record: Record<string, unknown> = { _tag: next() < 0.95 ? tag : "Other" }
    for (const key of keys) if (next() < 0.9) record[key] = pick()
    if (next() < 0.1) record.extra = pick()
    if (next() < 0.05) delete record._tag
    const shape = next()
    if (shape < 0.05) out.push(Object.assign(Object.create(null), record))
    else if (shape < 0.1) out.push(Object.assign(Object.create({ inherited: 1 }), record))
    else if (shape < 0.12) out.push(Object.assign([], record))
    else out.push(record)
  }
  // the well-typed messages themselves, so the shortcut is taken often
  out.push({ _tag: tag, n: 1 }, { _tag: tag, s: "a", b: true, l: "x", k: 3 }, { _tag: tag, n: 2, o: "here" })
  return out
}

const show = (value: unknown): string => inspect(value, { depth: 2 })

/** These messages hold no refs, except `WithRef`'s (see its own test). */
const noRefs: ActorRef.Resolver = () => "no refs in these messages"

const fields: Record<string, ReadonlyArray<string>> = {
  Tick: ["n"],
  Mixed: ["s", "b", "l", "k"],
  Optional: ["o", "n"],
  Checked: ["n"],
  Transformed: ["n"],
  Nested: ["items"],
  Wide: ["data"],
  Loose: ["data", "tag"],
  Opaque: ["data", "list"]
}

describe("remote message codec", () => {
  it("decodes exactly what the Schema decodes, to the same value", () => {
    let shortcuts = 0
    for (const protocol of [Plain, Other] as ReadonlyArray<Protocol.Any>) {
      const codec = codecOf(protocol)
      for (const tag of protocol.tags) {
        if (tag === "WithRef") continue
        const decode = Schema.decodeUnknownExit(protocol.messageSchemas[tag]!)
        for (const value of candidates(tag, fields[tag]!)) {
          const ours = codec.decode(value, noRefs)
          const theirs = decode(value)
          if ((value as { _tag?: unknown })._tag !== tag) continue // the codec picks the schema by tag
          if (Exit.isSuccess(theirs)) {
            if (!isDeepStrictEqual(ours, theirs.value)) assert.fail(`decoding ${show(value)} as ${tag}: ${show(ours)}`)
            if (ours === value) shortcuts++
          } else if (typeof ours !== "string") assert.fail(`${show(value)} is not a ${tag}, decoded ${show(ours)}`)
        }
      }
    }
    assert.isAbove(shortcuts, 100)
  })

  it("reply values: decodes and encodes exactly what the Schema does, skipping it for values that are their own form", () => {
    const schemas = [
      Schema.Number,
      Schema.String,
      Schema.Boolean,
      Schema.Literal("x"),
      Schema.Struct({ n: Schema.Number, s: Schema.optionalKey(Schema.String) }),
      Schema.Finite,
      Schema.NumberFromString,
      Schema.Array(Schema.Number),
      Schema.Void,
      Schema.Record(Schema.String, Schema.Number),
      Schema.Json,
      Schema.Unknown,
      Schema.Union([Schema.String, Schema.Null]),
      Schema.Struct({ n: Schema.Array(Schema.Json) })
    ]
    const next = random(17)
    const pool = [...values, { n: 1 }, { n: 1, s: "a" }, { n: "1" }, { n: 1, x: 2 }, Object.create({ n: 1 })]
    for (let i = 0; i < 500; i++) pool.push({ n: values[Math.floor(next() * values.length)] })
    let shortcuts = 0
    for (const schema of schemas as ReadonlyArray<Schema.Top>) {
      const decode = Schema.decodeUnknownExit(schema as Schema.Codec<unknown, unknown>)
      const encode = Schema.encodeUnknownExit(schema as Schema.Codec<unknown, unknown>)
      for (const value of pool) {
        const ours = decodeWith(schema, value)
        const theirs = decode(value)
        assert.strictEqual(Exit.isSuccess(ours), Exit.isSuccess(theirs), `decoding ${show(value)}`)
        if (Exit.isSuccess(ours) && Exit.isSuccess(theirs)) {
          assert.isTrue(isDeepStrictEqual(ours.value, theirs.value), `decoding ${show(value)}`)
          if (ours.value === value && typeof value === "object") shortcuts++
        }
        const encoded = encode(value)
        let mine: unknown
        let failed = false
        try {
          mine = encodeWith(schema, value)
        } catch {
          failed = true
        }
        assert.strictEqual(failed, Exit.isFailure(encoded), `encoding ${show(value)}`)
        if (Exit.isSuccess(encoded))
          assert.isTrue(isDeepStrictEqual(mine, toJson(encoded.value)), `encoding ${show(value)}`)
      }
    }
    assert.isAbove(shortcuts, 10)
  })

  it("resolves the refs in a message with the resolver it is given", () => {
    const codec = codecOf(Other)
    const address = { node: "elsewhere", path: "/user/a", protocol: "Plain" }
    const seen: Array<unknown> = []
    const decoded = codec.decode({ _tag: "WithRef", to: address }, (a) => {
      seen.push(a)
      return `unknown actor ${a.path}`
    })
    assert.deepStrictEqual(seen, [address])
    assert.include(decoded, "unknown actor /user/a")
  })

  it("encodes exactly what the Schema encodes, and fails where it fails", () => {
    let shortcuts = 0
    for (const protocol of [Plain, Other] as ReadonlyArray<Protocol.Any>) {
      const codec = codecOf(protocol)
      for (const tag of protocol.tags) {
        if (tag === "WithRef") continue
        const encode = Schema.encodeUnknownExit(protocol.messageSchemas[tag]!)
        for (const value of candidates(tag, fields[tag]!)) {
          if ((value as { _tag?: unknown })._tag !== tag) continue
          const theirs = encode(value)
          let ours: unknown
          let failed = false
          try {
            ours = codec.encode(value as { _tag: string })
          } catch {
            failed = true
          }
          if (Exit.isSuccess(theirs)) {
            // refused by design: JSON drops the fields whose value is undefined, and without them it is not valid
            const schema = Schema.toEncoded(protocol.messageSchemas[tag]! as Schema.Codec<unknown, unknown>)
            if (failed && Exit.isFailure(Schema.decodeUnknownExit(schema)(toJson(theirs.value)))) continue
            if (failed || !isDeepStrictEqual(ours, toJson(theirs.value)))
              assert.fail(`encoding ${show(value)} as ${tag}: ${failed ? "failed" : show(ours)}`)
            if (ours === value) shortcuts++
          } else if (!failed) assert.fail(`${show(value)} is not a ${tag}, encoded ${show(ours)}`)
        }
      }
    }
    assert.isAbove(shortcuts, 100)
  })

  it("writes the JSON of exactly the messages it sends as they are, as JSON.stringify does", () => {
    let written = 0
    const into = Buffer.alloc(4096)
    for (const protocol of [Plain, Other] as ReadonlyArray<Protocol.Any>) {
      const codec = codecOf(protocol)
      for (const tag of protocol.tags) {
        if (tag === "WithRef") continue
        for (const value of candidates(tag, fields[tag]!)) {
          if ((value as { _tag?: unknown })._tag !== tag) continue
          const write = codec.writer(value as { _tag: string })
          let encoded: unknown
          try {
            encoded = codec.encode(value as { _tag: string })
          } catch {
            encoded = undefined
          }
          const finite = (_: string, v: unknown) => (typeof v !== "number" || Number.isFinite(v) ? v : "x")
          if (write === undefined) {
            // not written: encoded otherwise (or, not a flat struct, sent as it is and made JSON by the transport)
            if (encoded === value && protocol === Plain)
              assert.fail(`${show(value)} is sent as it is but has no writer`)
            continue
          }
          if (encoded !== value) assert.fail(`${show(value)}: a writer for a message that is not sent as it is`)
          const end = write(value as Schema.Json, into, 3, into.length)
          if (end === -2) {
            // declined only for a number JSON cannot hold (the transport then refuses it)
            if (JSON.stringify(value) === JSON.stringify(value, finite)) assert.fail(`${show(value)} was declined`)
            continue
          }
          written++
          // keys in the schema's order (the order JSON.stringify writes the constructors' messages in)
          const expected = JSON.stringify(value, ["_tag", ...fields[tag]!])
          const json = into.toString("utf8", 3, end)
          if (json !== expected) assert.fail(`${show(value)}: wrote ${json}, JSON.stringify ${expected}`)
          // too little room: -1, and nothing written from the end on
          const bytes = Buffer.byteLength(expected)
          const short = Buffer.alloc(bytes + 8, 0xff)
          assert.strictEqual(write(value as Schema.Json, short, 0, bytes - 1), -1)
          assert.isTrue(short.subarray(bytes - 1).every((b) => b === 0xff))
        }
      }
    }
    assert.isAbove(written, 100)
  })

  it("writes numbers and strings byte for byte as JSON.stringify does", () => {
    const next = random(4242)
    const into = Buffer.alloc(1 << 20)
    const check = (value: number | string) => {
      const end = typeof value === "number" ? writeNumber(value, into, 1) : writeString(value, into, 1, into.length)
      const json = JSON.stringify(value)
      if (json === "null") assert.strictEqual(end, -2, `${value} is refused`)
      else if (into.toString("utf8", 1, end) !== json)
        assert.fail(`${show(value)}: wrote ${into.toString("utf8", 1, end)}`)
    }
    const numbers = [
      0,
      -0,
      1,
      -1,
      9,
      10,
      99,
      100,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      -(2 ** 31) - 1,
      2 ** 53,
      -(2 ** 53)
    ]
    numbers.push(1e21, 1e-7, 1.5e-7, 5e-324, Number.MAX_VALUE, -Number.MIN_VALUE, 0.1 + 0.2, 123456789.125)
    numbers.push(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY)
    for (let power = 1; power < 1e11; power *= 10) numbers.push(power - 1, power, power + 1, -power, -power + 1)
    for (let i = 0; i < 20_000; i++) {
      const bits = new DataView(new ArrayBuffer(8))
      bits.setUint32(0, Math.floor(next() * 2 ** 32))
      bits.setUint32(4, Math.floor(next() * 2 ** 32))
      numbers.push(
        bits.getFloat64(0),
        Math.floor((next() - 0.5) * 2 ** (next() * 60)),
        (next() - 0.5) * 10 ** (next() * 40 - 20)
      )
    }
    for (const n of numbers) check(n)
    // every code unit alone (lone surrogates included), then random strings of them, short and long
    for (let c = 0; c < 0x10000; c++) check(String.fromCharCode(c))
    const units = [
      0x41, 0x7a, 0x20, 0x22, 0x5c, 0x0a, 0x00, 0x1f, 0x7e, 0x7f, 0x80, 0xe9, 0x2028, 0xd800, 0xdc00, 0xd83d, 0xde00
    ]
    for (let i = 0; i < 5000; i++) {
      const length = Math.floor(next() ** 3 * 300)
      let text = ""
      for (let j = 0; j < length; j++)
        text += String.fromCharCode(
          next() < 0.8 ? 0x20 + Math.floor(next() * 95) : units[Math.floor(next() * units.length)]!
        )
      check(text)
    }
  })
})
