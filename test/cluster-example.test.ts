/**
 * The cluster example as its package script runs it (with `TROUPE_CLUSTER=1`): one runner on SQLite, then three
 * runner processes on a PostgreSQL server started here, one of them killed.
 */
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Postgres from "../packages/runtime/test/durable/postgres.ts"
import { HANG_MILLIS, run, stopAll, testEnv } from "./support/child.ts"

const examples = join(import.meta.dirname, "..", "packages", "examples")
const script = join(examples, "src", "cluster.ts")
afterAll(() => stopAll())

// ~10 s each: behind TROUPE_CLUSTER=1 with the other multi-process cluster tests (the default suite runs
// packages/runtime/test/cluster/Sharded.test.ts for one SQLite runner)
describe.skipIf(process.env.TROUPE_CLUSTER !== "1")("cluster example", () => {
  it("keeps a ticket's notes across a restart of its SQLite runner", async () => {
    const { DATABASE_URL: _, ...env } = testEnv()
    const exit = await run([script], { cwd: examples, env })
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stdout).toContain("T-1 after a restart of the runner: 2 notes")
  }, 300_000)

  it.skipIf(Postgres.unavailable !== undefined)(
    "answers from the two runners left after one of three is killed",
    async () => {
      const server = await Postgres.start()
      try {
        // the example itself takes one to two minutes under load: its hang bound is twice a child's
        const exit = await run(
          [script],
          { cwd: examples, env: { ...testEnv(), DATABASE_URL: server.url } },
          2 * HANG_MILLIS
        )
        expect(exit.code, exit.stderr).toBe(0)
        const lines = exit.stdout.split("\n")
        const before = lines.find((l) => l.includes("30 tickets answer from"))!
        // spread over the three runners
        expect(before).toMatch(/r1: [1-9]\d*, r2: [1-9]\d*, r3: [1-9]\d*/)
        expect(exit.stdout).toMatch(/r2's shards taken over by r1 and r3 after \d+ s/)
        const after = lines.find((l) => l.includes("30 tickets answer again"))!
        expect(after).toMatch(/r2: 0; notes kept: true/)
      } finally {
        await server.stop()
      }
    },
    // A deadline for a hang only: the example waits for events (runners ready, shards held, replies) and takes
    // one to two minutes at load 20 on 2 cores (the takeover alone waits out the killed runner's 35 s heartbeat)
    300_000
  )
})
