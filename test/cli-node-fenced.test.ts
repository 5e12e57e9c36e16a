/**
 * `troupe node` whose main hook brings its own Storage (test/fixtures/cli/durable-hook.ts: a durable counter on a
 * SQLite file, a lease of 600 ms), and whose node name another process takes over on that storage (the test writes
 * the successor's token, as a takeover from another host after this one's lease ran out does): the node's durable
 * work is stopped, and the node exits, non-zero, with one line saying what happened and what to do. Before, it went on
 * serving (the CLI watched no storage), its durable work stopped under it. One real child process.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Storage } from "@troupe/runtime"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, describe, expect, it } from "vitest"
import { start, stopAll, testEnv } from "./support/child.ts"
import { CLI, fixture, secret } from "./support/target-node.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-cli-fenced-"))
afterAll(() => {
  stopAll()
  rmSync(dir, { recursive: true, force: true })
})

const root = new URL("..", import.meta.url).pathname
const elsewhere = { pid: 4242, host: "another-host", boot: "b", processStart: "1", startedAt: 0 }

describe("troupe node fenced on its main hook's own storage", () => {
  it("exits non-zero with a line that says another process took its name over", async () => {
    const db = join(dir, "hook.db")
    const node = start([CLI, "node", "--name", "fenced", "--agents", fixture("durable-hook.ts")], {
      cwd: root,
      env: { ...testEnv(), TROUPE_TOKEN: secret(), DURABLE_DB: db }
    })
    await node.line("durable counter at 1")
    await Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const taken = yield* sql<{ epoch: number }>`UPDATE troupe_nodes SET epoch = epoch + 1, token = 'successor',
          holder = ${JSON.stringify(elsewhere)} WHERE node = 'fenced' RETURNING epoch`
        expect(taken.length, "the node's claim row").toBe(1)
      }).pipe(Effect.provide(Storage.sqliteClient({ filename: db })))
    )
    const exit = await node.exited()
    expect(exit.code, exit.stdout + exit.stderr).toBe(1)
    expect(exit.stderr).toMatch(
      /Node fenced stopped: another process \(process 4242 on host another-host\) took its node name over on .*hook\.db and runs its durable work now/
    )
    expect(exit.stdout).toContain("stopped.")
  }, 180_000)
})
