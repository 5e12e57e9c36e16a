import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { vi } from "vitest"
import { Frame } from "../src/index.ts"

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value))
const problem = (data: Buffer, isBinary = true) => {
  const decoded = Frame.decode(data, isBinary)
  return Result.isFailure(decoded) ? decoded.failure : undefined
}

describe("Frame", () => {
  it("round-trips every frame", () => {
    const frames: ReadonlyArray<Frame.Frame> = [
      { type: "ack", ack: 3 },
      { type: "heartbeat" },
      { type: "goodbye", reason: "bye" },
      { type: "error", code: "bad-frame", message: "m", field: "x" }
    ]
    for (const frame of frames) {
      const decoded = Frame.decode(Frame.encode(frame), true)
      assert.deepStrictEqual(Result.getOrThrow(decoded), frame)
    }
    const data = Result.getOrThrow(Frame.decode(Frame.encodeData(2, 5, ['{"a":1}', "2"]), true))
    assert.deepStrictEqual(data, { type: "data", ack: 2, first: 5, envelopes: [{ a: 1 }, 2] })
  })

  it("says what is wrong with a bad frame", () => {
    assert.match(problem(Buffer.from("not json at all"))!.message, /not valid JSON/)
    assert.match(problem(bytes({ type: "ack", ack: 1 }).subarray(0, 8))!.message, /not valid JSON/)
    assert.match(problem(bytes({ type: "ack", ack: 1 }), false)!.message, /text frames/)
    assert.deepStrictEqual(problem(bytes({ type: "nope" }))?.field, "type")
    assert.deepStrictEqual(problem(bytes({ type: "ack", ack: -1 }))?.field, "ack")
    assert.deepStrictEqual(problem(bytes({ type: "data", ack: 0, first: 0, envelopes: [] }))?.field, "first")
    assert.deepStrictEqual(problem(bytes({ type: "hello", protocol: 1, node: "a" }))?.field, "incarnation")
    assert.deepStrictEqual(problem(bytes([1, 2]))?.field, "")
  })

  it("decodes a data frame over 120 KiB (parsed in pieces) as it decodes the frame parsed whole", () => {
    // envelopes with what a cut looks for (`},{"kind":"`) in strings and in nested arrays, where it must not cut
    const to = { node: "b", path: "/user/x" }
    const envelope = (i: number, nested: number) =>
      JSON.stringify(
        i % 3 === 0
          ? { kind: "tell", to, payload: { _tag: "T", s: `},{"kind":"${i}` } }
          : i % 3 === 1
            ? { kind: "tell", to, payload: Array.from({ length: nested }, () => [{}, { kind: "k", a: [{}, {}] }]) }
            : { kind: "tell", to, payload: { _tag: "Tick", n: i } }
      )
    const envelopes = Array.from({ length: 3000 }, (_, i) => envelope(i, 1))
    const whole = (frame: Buffer) => {
      try {
        return Frame.decodeValue(JSON.parse(frame.toString("utf8")))
      } catch {
        return "not JSON"
      }
    }
    const same = (frame: Buffer) => {
      const decoded = Frame.decode(frame, true)
      const expected = whole(frame)
      if (expected === "not JSON") assert.match(problem(frame)!.message, /not valid JSON/)
      else assert.deepStrictEqual(decoded, expected)
      return decoded
    }
    const frame = Frame.encodeData(7, 100, envelopes)
    assert.isAbove(frame.length, 250 * 1024)
    const parse = vi.spyOn(JSON, "parse")
    const decoded = Result.getOrThrow(Frame.decode(frame, true)) as Frame.Data
    assert.isAbove(parse.mock.calls.length, 2) // in pieces
    parse.mockRestore()
    assert.strictEqual(decoded.envelopes.length, 3000)
    same(frame)
    // frames with another array where a cut falls, which must not be taken for the envelopes; bad frames
    const text = Frame.encodeData(1, 1, envelopes.slice(0, 10)).toString("utf8")
    const array = `[${Array.from({ length: 10_000 }, (_, i) => `{"kind":"${i}"}`).join(",")}]`
    const tail = (key: string) => Buffer.from(`${text.slice(0, -1)},"${key}":${array}}`)
    for (const key of ["x", "type", "ack", "envelopes"]) same(tail(key)) // a repeated key: the last counts
    same(Buffer.from(`{"x":[],${text.slice(1, -1)},"x":${array}}`))
    same(
      Frame.encodeData(
        7,
        100,
        Array.from({ length: 1000 }, (_, i) => envelope(i, 5))
      )
    ) // cuts given up
    same(frame.subarray(0, frame.length - 1))
    same(Buffer.concat([frame.subarray(0, 200 * 1024), Buffer.from("]}")]))
  })

  it("the fast data-frame guard accepts exactly what the schema accepts", () => {
    const odd: ReadonlyArray<unknown> = [undefined, null, -1, 0, 1, 1.5, 2 ** 60, "1", [], [1], {}, true]
    const is = Schema.is(Frame.Data)
    let checked = 0
    for (const type of ["data", "ack", undefined]) {
      for (const ack of odd) {
        for (const first of odd) {
          for (const envelopes of odd) {
            const frame = Object.fromEntries(
              Object.entries({ type, ack, first, envelopes }).filter(([, v]) => v !== undefined)
            )
            assert.strictEqual(Frame.isData(frame), is(frame), JSON.stringify(frame))
            checked++
          }
        }
      }
    }
    assert.isAbove(checked, 5000)
  })
})
