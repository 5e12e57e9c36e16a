import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: ".vitest-results.json" }]],
    // --expose-gc: leak tests measure the heap after a collection
    execArgv: ["--expose-gc"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
