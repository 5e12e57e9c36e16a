/**
 * The frame decoder's JSON reader reads a value where it starts in a text: whatever it returns is what
 * `JSON.parse` gives for the text it read (same values, same key order, `-0` kept, same prototypes), and it ends
 * where the value ends; what it does not read it declines (and the decoder parses with `JSON.parse`). Held to
 * that on generated values and on every cut and changed character of them.
 */
import { assert, describe, it } from "@effect/vitest"
import { declined, JsonReader } from "../src/internal/jsonReader.ts"
import { type Generator, generator } from "./support/generator.ts"

const strings = [
  "",
  "a",
  "Tick",
  "é 日本語 🎭",
  "\u2028",
  'q"uote',
  "back\\slash",
  "x".repeat(40),
  "ctl\u0001",
  "\ud800"
]
const keys = ["_tag", "n", "text", "__proto__", "constructor", "0", "12", "a_rather_long_key_name", 'k"q', ""]
const numbers = [0, -0, 1, -1, 42, 2 ** 53, 2 ** 53 + 2, 12345678901234, 0.1, 1 / 3, -2.5e-7, 1e22, 1e23, 1e300, 5e-324]

const generate = (g: Generator, depth: number): unknown => {
  switch (g.int(depth > 3 ? 5 : 8)) {
    case 0:
      return g.pick([true, false, null])
    case 1:
      return g.pick(numbers) * (g.int(2) === 0 ? 1 : g.next())
    case 2:
      return g.int(1_000_000)
    case 3:
    case 4:
      return g.pick(strings)
    case 5:
    case 6: {
      const o: Record<string, unknown> = {}
      for (let n = g.int(20); n > 0; n--) o[g.pick(keys)] = generate(g, depth + 1)
      return o
    }
    default:
      return Array.from({ length: g.int(6) }, () => generate(g, depth + 1))
  }
}

/** The same JSON value, `-0` and prototypes included. */
const same = (a: unknown, b: unknown): boolean => {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return Object.is(a, b)
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  return (
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  )
}

/** Reads `text` at `pos`: declined, or the value `JSON.parse` gives for the text read (and that text ends at `end`). */
const check = (reader: JsonReader, text: string, pos: number, end?: number): boolean => {
  const value = reader.read(text, pos)
  if (value === declined) return false
  if (end !== undefined) assert.strictEqual(reader.end, end, text)
  const piece = text.slice(pos, reader.end)
  let parsed: unknown
  try {
    parsed = JSON.parse(piece)
  } catch {
    assert.fail(`read what JSON.parse refuses: ${JSON.stringify(piece)}`)
  }
  assert.isTrue(same(value, parsed), piece)
  return true
}

describe("JsonReader", () => {
  it("reads generated values as JSON.parse does, and ends where they end", () => {
    const g = generator(1)
    const reader = new JsonReader()
    let read = 0
    for (let i = 0; i < 3000; i++) {
      const json = JSON.stringify(generate(g, 0))
      if (check(reader, `{"payload":${json},"from":1}`, 11, 11 + json.length)) read++
    }
    assert.isAbove(read, 1000) // most are read (not declined: big objects, escaped or __proto__ keys, ...)
  })

  it("every cut and every changed character: the value JSON.parse gives for the text read, or declined", () => {
    const g = generator(2)
    const reader = new JsonReader()
    for (let i = 0; i < 40; i++) {
      const text = `{"p":${JSON.stringify(generate(g, 0))}}`
      for (let at = 5; at < text.length; at++) {
        check(reader, text.slice(0, at), 5)
        for (const c of ' ,:{}[]"\\0-e.E+') check(reader, text.slice(0, at) + c + text.slice(at + 1), 5)
      }
    }
  })

  it("numbers: exactly as JSON.parse, its grammar only", () => {
    const reader = new JsonReader()
    const texts = ["0", "-0", "-0.0", "0e0", "1E5", "1e+5", "1e-5", "12.5e-3", "123.456e7", "4.35", "0.1e1", "1e22"]
    texts.push("1e23", "9007199254740991", "9007199254740992", "9007199254740993", "99999999999999999999e-20")
    texts.push(
      "123456789012345678901234567890",
      "1.7976931348623157e308",
      "5e-324",
      "1e-400",
      "2.2250738585072014e-308"
    )
    for (const text of texts) assert.isTrue(check(reader, `${text}]`, 0, text.length), text)
    const g = generator(3)
    for (let i = 0; i < 30_000; i++) {
      const n = [g.next() * 10 ** (g.int(40) - 20), g.int(1e9) / 1000, g.int(1e6) / 3, -g.next()][g.int(4)]!
      assert.isTrue(check(reader, `${JSON.stringify(n)},`, 0), String(n))
    }
    for (const text of ["01", "-", "1.", ".5", "1e", "1e+", "-01", "+1", "1e999", "-1e999", "NaN", "Infinity"])
      assert.strictEqual(reader.read(`${text},`, 0), declined, text)
  })

  it("declines what it leaves to JSON.parse: __proto__ and escaped keys, whitespace, more than 32 values", () => {
    const reader = new JsonReader()
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
    const list = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => i))
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])))
    for (const text of ['{"__proto__":{"a":1}}', '{"a\\"b":1}', '{ "a":1}', "[1, 2]", list(32), wide, nested(33)])
      assert.strictEqual(reader.read(text, 0), declined, text)
    assert.isTrue(check(reader, list(31), 0))
    assert.isTrue(check(reader, nested(32), 0))
  })

  it("keeps the keys it has read and gives each the same string again, whichever text it comes from", () => {
    const reader = new JsonReader()
    const first = reader.read('{"_tag":"Tick","n":1}', 0) as Record<string, unknown>
    const second = reader.read('{"n":2,"_tag":"Tock","nn":3,"_tab":4}', 0) as Record<string, unknown>
    assert.deepStrictEqual(Object.keys(first), ["_tag", "n"])
    assert.deepStrictEqual(Object.keys(second), ["n", "_tag", "nn", "_tab"])
    assert.deepStrictEqual(second, { n: 2, _tag: "Tock", nn: 3, _tab: 4 })
  })
})
