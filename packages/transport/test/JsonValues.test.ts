/**
 * The count of JSON values that bounds an envelope's work (`maxEnvelopeValues`): the same as a count over the
 * parsed value, for the sender's text and for each envelope of a frame's bytes, strings (with quotes, escapes,
 * brackets and non-ASCII inside) skipped, empty containers counted once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Frame } from "../src/index.ts"
import { countValues, mayExceed, scanFrame } from "../src/internal/jsonValues.ts"

/** The values of a parsed JSON value: itself, and each element or member value within. */
const reference = (value: unknown): number => {
  if (Array.isArray(value)) return 1 + value.reduce((n: number, v) => n + reference(v), 0)
  if (value !== null && typeof value === "object") return 1 + Object.values(value).reduce((n, v) => n + reference(v), 0)
  return 1
}

const samples: ReadonlyArray<unknown> = [
  0,
  "a string",
  null,
  [],
  {},
  [[]],
  [{}, [], [[], {}]],
  { a: 1, b: [1, 2, { c: null }], d: {} },
  { '"quoted",[': '\\"', "\\": ["]", "}", ",", "{", "["], é: "ü€😀,[{" },
  Array.from({ length: 50 }, (_, i) => ({ i, s: `a"b\\${i}`, t: [true, false, null, 1.5e-7] })),
  { nested: [[[[[[[[1]]]]]]]], empty: [[], [{}], { x: [] }] }
]

describe("counting JSON values", () => {
  it("counts what a parse would make, for every sample, compact or spaced", () => {
    for (const sample of samples) {
      const expected = reference(sample)
      assert.strictEqual(countValues(JSON.stringify(sample)), expected, JSON.stringify(sample))
      assert.strictEqual(countValues(JSON.stringify(sample, null, 2)), expected, JSON.stringify(sample))
    }
  })

  it("a text too short to hold more than the limit is never counted, and that bound is tight", () => {
    // n values need at least 2n - 1 characters: [0,0,...] is the densest
    for (const n of [2, 10, 1000]) {
      const densest = JSON.stringify(Array.from({ length: n - 1 }, () => 0))
      assert.strictEqual(countValues(densest), n)
      assert.isFalse(mayExceed(Buffer.byteLength(densest), n))
      assert.isTrue(mayExceed(Buffer.byteLength(densest), n - 1))
    }
  })

  it("counts each envelope of a data frame apart, in its bytes, lists those over the limit and gives the widest", () => {
    const envelopes = samples.map((payload) =>
      JSON.stringify({ kind: "tell", to: { node: "b", path: "/user/x" }, payload })
    )
    const bytes = Frame.encodeData(3, 7, envelopes)
    const counts = envelopes.map(countValues)
    const limit = 20
    const scan = scanFrame(bytes, limit)
    const over = counts.flatMap((values, index) => (values > limit ? [{ index, values }] : []))
    assert.deepStrictEqual(
      scan.wide.map(({ index, values }) => ({ index, values })),
      over
    )
    assert.isAbove(over.length, 0)
    assert.strictEqual(scan.widest, Math.max(...counts))
    // each listed range is exactly that envelope's text
    const text = bytes.toString("utf8")
    for (const w of scan.wide) {
      assert.strictEqual(bytes.subarray(w.start, w.end).toString("utf8"), envelopes[w.index])
    }
    // the frame's own values: the object, type, ack, first, the array, and one per envelope
    assert.strictEqual(scan.rest, 5 + envelopes.length)
    assert.isTrue(text.startsWith('{"type":"data"'))
    // an `envelopes` key anywhere but at the frame's top level is only counted
    const nested = Buffer.from(JSON.stringify({ type: "x", inner: { envelopes: [[1, 2, 3, 4]] } }))
    assert.deepStrictEqual(scanFrame(nested, 2), { wide: [], rest: 9, widest: 0 })
    assert.deepStrictEqual(scanFrame(Buffer.from('{"type":"data","ack":0,"first":1,"envelopes":[]}'), 1).wide, [])
  })
})
