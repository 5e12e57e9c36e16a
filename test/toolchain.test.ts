import { describe, expect, it } from "vitest"

describe("toolchain", () => {
  // pnpm silently falls back to the system Node 20 when the `node` package's install script is not allowed.
  it("runs the tests on Node 24", () => {
    expect(process.version).toMatch(/^v24\./)
  })
})
