import { tmpdir } from "node:os"
import { join } from "node:path"
import { configDefaults, defineConfig } from "vitest/config"
import LongestFirst from "./test/support/sequencer.ts"

// Node's compile cache, inherited by every child process the tests start: each child strips and compiles the
// same TypeScript modules, and with the cache a start costs about half the CPU (measured: 1.2 s → 0.7 s)
process.env.NODE_COMPILE_CACHE ??= join(tmpdir(), "troupe-node-compile-cache")

const include = ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"]

/** Test files that may share a worker with the files before them (see `projects` below). */
const shared = [
  "packages/{agreement,choreography,cli,inspector,transport}/test/**/*.test.ts",
  "packages/runtime/test/*.test.ts",
  // the root files whose nodes all run in the test's process (no child process, thread or PostgreSQL server) and
  // that measure no heap
  "test/conformance/*.test.ts",
  "test/remote{,-access,-ask-cancel,-ask-wait,-cuts-sessions,-faults,-large,-node-down-reason}.test.ts",
  "test/remote-{tell-effect,undefined,watch,slow-reader,gossip-flood,park-peers}.test.ts",
  "test/session-{bindings,families,faults,membership,verdict}.test.ts",
  "test/transport-{ack-half-window,bad-input,relink}.test.ts",
  "test/{toolchain,durable-join-refused,llm-session,otel}.test.ts"
]

export default defineConfig({
  test: {
    // (the files: in `projects` below; a list here would be merged into each project's)
    // the console shows results and the logs of failing tests; every test's logs go to tests.log
    silent: "passed-only",
    reporters: ["default", ["json", { outputFile: ".vitest-results.json" }], "./test/support/logFile.ts"],
    // --expose-gc: leak tests measure the heap after a collection
    execArgv: ["--expose-gc"],
    // two files at a time even on 2 cores (vitest's default there is one): most files wait on sockets, child
    // processes and timers, not on the CPU, and every test must hold on a loaded machine anyway
    maxWorkers: 2,
    // the longest files start first (on a fresh clone too), so that the run does not end on one long file
    sequence: { sequencer: LongestFirst },
    // the child processes load our packages and effect bundled (built once per run), not from source: about half
    // the CPU per child start (test/support/bundle.ts)
    globalSetup: ["./test/support/bundle.ts"],
    setupFiles: ["./test/support/bundle-env.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each test file in a fresh worker costs a Node start and the import of its module graph (effect's 400-odd
    // modules, Troupe's source through vite): about 1.1 s of CPU per file, 55 % of the CPU of a run of the
    // packages' unit tests (measured on choreography, transport and agreement, 40 files: 77 s of CPU isolated,
    // 34 s shared). The files listed in `shared` run one after another in workers that keep their modules: they
    // start no process and leave nothing running. Every other file keeps its own worker: the runtime's cluster
    // and durable files and llm's MCP server failed when they shared workers (state kept between files).
    projects: [
      { extends: true, test: { name: "shared", include: shared, isolate: false } },
      { extends: true, test: { name: "isolated", include, exclude: [...configDefaults.exclude, ...shared] } }
    ]
  }
})
