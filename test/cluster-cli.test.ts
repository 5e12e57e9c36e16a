/**
 * `troupe node --cluster` and `troupe cluster status` as real processes (with `TROUPE_CLUSTER=1`): a node that is
 * the runner of a SQLite cluster hosts its module's sharded type, and the status command shows it, its shards
 * and its active actors; a bad database URL is one line and exit code 1.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { HANG_MILLIS, run, start, stopAll } from "./support/child.ts"

const root = join(import.meta.dirname, "..")
const CLI = join(root, "packages", "cli", "src", "bin.ts")
const dir = mkdtempSync(join(tmpdir(), "troupe-cluster-cli-"))
afterAll(() => {
  stopAll()
  rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(process.env.TROUPE_CLUSTER !== "1")("troupe cluster", () => {
  it("runs a node as a cluster runner and shows its status", async () => {
    const db = join(dir, "cluster.db")
    const node = start(
      [
        CLI,
        "node",
        "--agents",
        join(root, "test", "fixtures", "cli", "sharded.ts"),
        "--cluster",
        db,
        "--insecure-no-auth"
      ],
      {
        cwd: root
      }
    )
    // Deadlines for hangs only: a node starts in a few seconds, but took more than 15 s at load 20 while the
    // 10,000-ledger cluster test ran beside it (as in .ci/run)
    await node.line("cluster runner on")
    expect(await node.line("counter a = ")).toBe("counter a = 2")
    // the runner reports every 2 s: wait for a report that counts the three counters (each status command is a
    // process start, several seconds under load)
    let status = ""
    for (const started = Date.now(); Date.now() - started < HANG_MILLIS; ) {
      status = (await run([CLI, "cluster", "status", db], { cwd: root })).stdout
      if (status.includes("Counter=3")) break
    }
    expect(status).toMatch(/1 runner\(s\) up, 300 shard\(s\) held, active actors Counter=3/)
    expect(status).toContain("shards 300 [1-300]")
    node.process.kill("SIGINT")
    expect((await node.exited()).code).toBe(0)
    // a runner that stopped gracefully removed its row
    expect((await run([CLI, "cluster", "status", db], { cwd: root })).stdout).toContain("No runner has reported")
  }, 300_000)

  it("says in one line what is wrong with a database it cannot read", async () => {
    const exit = await run([CLI, "cluster", "status", "postgres://nobody:x@127.0.0.1:1/none"], { cwd: root })
    expect(exit.code).toBe(1)
    expect(exit.stderr.trim().split("\n")).toHaveLength(1)
    expect(exit.stderr).toContain("Cannot read the cluster's status")
  }, 300_000)
})
