/**
 * A protocol's problems say where in its source file each one was written (`file:line:column` of the builder
 * call: `$.message(...)`, `$.choice(...)`, …), as a compiler does: a user editing a protocol file goes to the
 * line. Problems of the whole protocol (a role no message uses) point at the `Choreography.make` call. The steps
 * are placed only when there are problems (the body runs a second time with a builder that notes each call), so a
 * well-formed protocol costs nothing more.
 */
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Choreography } from "../src/index.ts"

const file = fileURLToPath(import.meta.url)
/** The line of this file where the comment `/* marker *\/` is. */
const lineOf = async (marker: string) => {
  const { readFile } = await import("node:fs/promises")
  const lines = (await readFile(file, "utf8")).split("\n")
  return lines.findIndex((line) => line.includes(`/* ${marker} */`)) + 1
}

describe("where a protocol's problems were written", () => {
  it.effect("each problem's source is the builder call of its step, or the make call for the whole protocol", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        /* make */ Choreography.make("Broken", ["A", "B", "C", "Idle"], ($) => [
          $.choice("A", {
            go: [$.message("A", "B", "go", Schema.Void)],
            again: [/* duplicate */ $.message("A", "B", "go", Schema.Void)]
          }),
          /* self */ $.message("C", "C" as never, "self", Schema.Void)
        ])
      )
      const at = (code: string) => error.problems.find((p) => p.code === code)?.source
      const lines = {
        make: yield* Effect.promise(() => lineOf("make")),
        duplicate: yield* Effect.promise(() => lineOf("duplicate")),
        self: yield* Effect.promise(() => lineOf("self"))
      }
      assert.deepInclude(at("DuplicateLabel"), { file, line: lines.duplicate })
      assert.deepInclude(at("SelfMessage"), { file, line: lines.self })
      assert.deepInclude(at("UnusedRole"), { file, line: lines.make })
      // The column is the builder call's: `message(` of `$.message(`.
      assert.strictEqual(at("SelfMessage")?.column, "          /* self */ $.".length + 1)
      assert.include(error.message, `at ${file}:${lines.duplicate}:`)
    })
  )

  it("makeUnsafe: a problem inside an included protocol points at the include", async () => {
    const Inner = Choreography.makeUnsafe("Inner", ["P", "Q"], ($) => [$.message("P", "Q", "x", Schema.Void)])
    let thrown: unknown
    try {
      Choreography.makeUnsafe("Unknowable", ["A", "B", "C"], ($) => [
        $.message("A", "B", "go", Schema.Void),
        $.message("C", "A", "go", Schema.Void),
        /* include */ $.include(Inner, { P: "A", Q: "A" })
      ])
    } catch (error) {
      thrown = error
    }
    assert.instanceOf(thrown, Choreography.ProtocolDefinitionError)
    const { problems } = thrown as Choreography.ProtocolDefinitionError
    const self = problems.find((p) => p.code === "SelfMessage")
    assert.deepInclude(self?.source, { file, line: await lineOf("include") })
  })

  it("a choice's unmergeable branches point at the choice", async () => {
    let thrown: unknown
    try {
      Choreography.makeUnsafe("Unknowable", ["A", "B", "C"], ($) => [
        /* unmergeable */ $.choice("A", {
          l1: [$.message("A", "B", "l1", Schema.Void), $.message("C", "A", "x", Schema.String)],
          l2: [$.message("A", "B", "l2", Schema.Void)]
        })
      ])
    } catch (error) {
      thrown = error
    }
    const problem = (thrown as Choreography.ProtocolDefinitionError).problems[0]
    assert.strictEqual(problem?.code, "UnmergeableBranches")
    assert.deepInclude(problem?.source, { file, line: await lineOf("unmergeable") })
  })

  it("a well-formed protocol's steps are built once (not placed)", () => {
    let runs = 0
    Choreography.makeUnsafe("Fine", ["A", "B"], ($) => {
      runs++
      return [$.message("A", "B", "hi", Schema.String)]
    })
    assert.strictEqual(runs, 1)
  })
})
