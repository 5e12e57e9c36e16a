/**
 * A module the `troupe` CLI cannot load (`troupe node --agents`, `troupe protocol check`), run as a real child
 * process: one line on stderr with its file, line and column, and exit code 1.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { stopAll } from "./support/child.ts"
import { lines, TOKEN, troupe } from "./support/cli-child.ts"

afterAll(stopAll)

// Each wait for a child has its own hang deadline with a report of what the child printed and when (see
// support/child.ts); the test's own timeout only bounds a test that hangs elsewhere.
vi.setConfig({ testTimeout: 300_000 })

describe("a module that does not load: one line with its file, line and column", () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-load-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const files: Readonly<Record<string, string>> = {
    "ts-syntax.ts": "export const agents = {}\nexport const broken = (x: number => x\nexport const main = 1\n",
    "ts-eof.ts": "export const agents = {}\nexport const broken = (x: number => x\n",
    "ts-enum.ts": "export const agents = {}\nexport enum Mood { Happy }\n",
    "js-syntax.js": "export const table = {\n  a: 1,\n  b: 2,,\n}\n",
    "imports-js.ts": 'import { table } from "./js-syntax.js"\nexport const agents = { table }\n',
    "throws.ts": 'export const agents = {}\nconst load = () => {\n  throw new Error("no config file")\n}\nload()\n',
    "fine.ts": "export const x = 1\n",
    "missing-package.ts":
      'import { x } from "./fine.ts"\nimport { y } from "not-installed-anywhere"\nexport const agents = { x, y }\n'
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  const cases: ReadonlyArray<readonly [what: string, module: string, says: string]> = [
    ["a TypeScript syntax error", "ts-syntax.ts", "ts-syntax.ts:3:1: SyntaxError: Expected ',', got 'export'"],
    ["one at the end of the file", "ts-eof.ts", "ts-eof.ts:2:38: SyntaxError: Expected ',', got '<eof>'"],
    [
      "TypeScript that Node cannot strip",
      "ts-enum.ts",
      "ts-enum.ts:2:8: SyntaxError: TypeScript enum is not supported in strip-only mode"
    ],
    [
      "a JavaScript syntax error in a module it imports",
      "imports-js.ts",
      "js-syntax.js:3:8: SyntaxError: Unexpected token ','"
    ],
    ["an error thrown while it loads", "throws.ts", "throws.ts:3:9: no config file"],
    [
      "a package that is not installed",
      "missing-package.ts",
      "missing-package.ts:2:19: Cannot find package 'not-installed-anywhere' imported from"
    ]
  ]
  for (const [what, module, says] of cases) {
    it.concurrent(what, async () => {
      for (const args of [
        ["node", "--token", TOKEN, "--agents", join(dir, module)],
        ["protocol", "check", join(dir, module)]
      ]) {
        const { code, stderr } = await troupe(...args)
        expect(code, stderr).toBe(1)
        expect(lines(stderr), stderr).toHaveLength(1)
        expect(stderr).toContain(`troupe: Cannot load ${join(dir, module)}: ${join(dir, says)}`)
      }
    })
  }
})
