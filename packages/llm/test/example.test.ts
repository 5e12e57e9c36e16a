import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { main } from "./examples/weather.ts"

describe("the guide's example", () => {
  it.effect("a model with a tool answers, and the guide quotes the example verbatim", () =>
    Effect.gen(function* () {
      const result = yield* main
      assert.strictEqual(result.text, "Yes: it is 3 °C in Oslo.")
      assert.deepStrictEqual(
        result.added.map((m) => m._tag),
        ["ToolCall", "ToolResult", "Assistant"]
      )
      const source = readFileSync(new URL("./examples/weather.ts", import.meta.url), "utf8")
      const guide = readFileSync(new URL("../../../docs/llm.md", import.meta.url), "utf8")
      assert.isBelow(source.trim().split("\n").length, 30)
      assert.include(guide, source.trim())
    })
  )
})
