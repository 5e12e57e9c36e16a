import { tmpdir } from "node:os"
import { join } from "node:path"
import { configDefaults, defineConfig } from "vitest/config"
import LongestFirst from "./test/support/sequencer.ts"

// Node's compile cache, inherited by every child process the tests start: each child strips and compiles the
// same TypeScript modules, and with the cache a start costs about half the CPU (measured: 1.2 s → 0.7 s)
process.env.NODE_COMPILE_CACHE ??= join(tmpdir(), "troupe-node-compile-cache")

const include = ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"]

/**
 * Test files that may share a worker with the files before them (see `projects` below): every file but llm's MCP
 * files, which keep state between files (llm's MCP server failed in a shared run). A module a file imports is loaded
 * once per worker, so a test helper keeps no state of its own that one file's hooks end (a directory one file's
 * `afterAll` removed failed the cluster files after it). Measured on the whole default suite (2026-12-07, 2 cores):
 * 382 s and 630 s of CPU shared, against 498 s and 801 s with the root files, llm's, and the runtime's durable and
 * choreography files each in a worker of its own; the runtime's cluster files shared: 84 s and 24 s of CPU, against
 * 206 s and 73 s each in a worker of its own (load 14-24).
 */
const shared = [
  "packages/{agreement,choreography,cli,inspector,transport}/test/**/*.test.ts",
  "packages/runtime/test/{,choreography/,cluster/,durable/}*.test.ts",
  "packages/llm/test/!(mcp*).test.ts",
  "test/**/*.test.ts"
]

export default defineConfig({
  test: {
    // (the files: in `projects` below; a list here would be merged into each project's)
    // the console shows results and the logs of failing tests; every test's logs go to tests.log
    silent: "passed-only",
    reporters: ["default", ["json", { outputFile: ".vitest-results.json" }], "./test/support/logFile.ts"],
    // --expose-gc: leak tests measure the heap after a collection
    execArgv: ["--expose-gc"],
    // three files at a time even on 2 cores (vitest's default there is one): most files wait on sockets, child
    // processes and timers, not on the CPU, and every test must hold on a loaded machine anyway. Measured on the
    // default suite (2026-12-07, 2 cores, quiet): 254 s with three (464 s of CPU: 180 % of the 2 cores), 340 s
    // with two. `.ci/run` runs the long cluster and fault files two at a time (they start several processes each)
    maxWorkers: 3,
    // the longest files start first (on a fresh clone too), so that the run does not end on one long file
    sequence: { sequencer: LongestFirst },
    // the child processes load our packages and effect bundled (built once per run), not from source: about half
    // the CPU per child start (test/support/bundle.ts)
    globalSetup: ["./test/support/bundle.ts"],
    setupFiles: ["./test/support/bundle-env.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each test file in a fresh worker costs a Node start and the import of its module graph (effect's 400-odd
    // modules, Troupe's source through vite): 2-3 s of CPU per file. The files listed in `shared` run one after
    // another in workers that keep their modules (each file stops what it started: children, servers, systems);
    // the others keep a worker of their own.
    projects: [
      { extends: true, test: { name: "shared", include: shared, isolate: false } },
      { extends: true, test: { name: "isolated", include, exclude: [...configDefaults.exclude, ...shared] } }
    ]
  }
})
