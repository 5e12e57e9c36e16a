import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const readme = readFileSync(join(root, "README.md"), "utf8")

interface Example {
  readonly path: string
  readonly code: string
  /** What a person types while it runs (`<!-- input -->`), if anything. */
  readonly input: string | undefined
  readonly prints: ReadonlyArray<string>
}

/**
 * Every `<!-- example: path -->` block of the README, with the `<!-- input -->` block (what a person types)
 * and the `<!-- prints -->` block after it.
 */
const examples: ReadonlyArray<Example> = [
  ...readme.matchAll(
    /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)\n```(?:\n\n<!-- input -->\n```text\n([\s\S]*?)\n```)?(?:\n\n<!-- prints -->\n```text\n([\s\S]*?)\n```)?/g
  )
].map(([, path, code, input, prints]) => ({
  path: path!,
  code: code!,
  input: input === undefined ? undefined : `${input}\n`,
  prints: prints === undefined ? [] : prints.split("\n")
}))

/** Runs a file with Node, typing `input` into it; answers what it printed. */
const runExample = (path: string, input: string | undefined) =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, [path], { cwd: root, timeout: 20_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)
    )
    child.stdin?.end(input ?? "")
  })

describe("README", () => {
  it("has examples", () => {
    expect(examples.length).toBeGreaterThanOrEqual(3)
  })

  for (const example of examples) {
    it(`shows ${example.path} as it is, and it runs`, async () => {
      expect(example.code).toBe(readFileSync(join(root, example.path), "utf8").trimEnd())
      const stdout = await runExample(join(root, example.path), example.input)
      const lines = stdout.split("\n")
      for (const line of example.prints) expect(lines).toContain(line)
    })
  }
})
