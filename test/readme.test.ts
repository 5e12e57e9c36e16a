import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const readme = readFileSync(join(root, "README.md"), "utf8")

interface Example {
  readonly path: string
  readonly code: string
  readonly prints: ReadonlyArray<string>
}

/** Every `<!-- example: path -->` block of the README, with the `<!-- prints -->` block after it. */
const examples: ReadonlyArray<Example> = [
  ...readme.matchAll(
    /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)\n```(?:\n\n<!-- prints -->\n```text\n([\s\S]*?)\n```)?/g
  )
].map(([, path, code, prints]) => ({
  path: path!,
  code: code!,
  prints: prints === undefined ? [] : prints.split("\n")
}))

describe("README", () => {
  it("has examples", () => {
    expect(examples.length).toBeGreaterThanOrEqual(3)
  })

  for (const example of examples) {
    it(`shows ${example.path} as it is, and it runs`, async () => {
      expect(example.code).toBe(readFileSync(join(root, example.path), "utf8").trimEnd())
      const { stdout } = await promisify(execFile)(process.execPath, [join(root, example.path)], {
        cwd: root,
        timeout: 20_000
      })
      const lines = stdout.split("\n")
      for (const line of example.prints) expect(lines).toContain(line)
    })
  }
})
