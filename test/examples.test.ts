import { execFile } from "node:child_process"
import { join } from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const examples = join(import.meta.dirname, "..", "packages", "examples", "src")
const run = (file: string) =>
  promisify(execFile)(process.execPath, [join(examples, file)], { cwd: examples, timeout: 30_000 })

describe("examples", () => {
  it("hello: a tell and an ask", async () => {
    const { stdout } = await run("hello.ts")
    expect(stdout.split("\n")).toEqual(["Hello, world!", "Bonjour, Troupe!", "greeted 2 times", ""])
  })
})
