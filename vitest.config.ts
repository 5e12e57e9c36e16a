import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    // the console shows results and the logs of failing tests; every test's logs go to tests.log
    silent: "passed-only",
    reporters: ["default", ["json", { outputFile: ".vitest-results.json" }], "./test/support/logFile.ts"],
    // --expose-gc: leak tests measure the heap after a collection
    execArgv: ["--expose-gc"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
