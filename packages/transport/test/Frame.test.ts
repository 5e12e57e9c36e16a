import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
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
