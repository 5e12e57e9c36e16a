/**
 * The CLI's numeric flags and database argument out of their range, run as real child processes: each is one line
 * on stderr naming the flag and its range, exit code 1, no stack trace, and nothing left behind.
 */
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { run, stopAll } from "./support/child.ts"

const root = join(import.meta.dirname, "..")
const CLI = join(root, "packages", "cli", "src", "bin.ts")
const lemons = join(import.meta.dirname, "fixtures", "cli", "lemons.ts")
const troupe = (args: ReadonlyArray<string>, cwd = root) => run([CLI, ...args], { cwd })

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000 })

/** One line on stderr, exit code 1, no stack trace anywhere. */
const refused = async (args: ReadonlyArray<string>, line: string, cwd?: string) => {
  const { code, stdout, stderr } = await troupe(args, cwd)
  expect(stderr.trim()).toBe(line)
  expect(`${stdout}${stderr}`).not.toMatch(/^\s+at /m)
  expect(code).toBe(1)
}

describe("troupe with flags out of range", () => {
  it.concurrent("simulate --level -1 (was: TypeError with a stack trace)", () =>
    refused(["protocol", "simulate", lemons, "--level", "-1"], "troupe: --level must be 0 to 1000, got -1"))

  it.concurrent("game --levels -1 (was: accepted, no levels printed) and --levels 1000000000 (was: never ended)", async () => {
    await refused(["protocol", "game", lemons, "--levels", "-1"], "troupe: --levels must be 0 to 1000, got -1")
    await refused(
      ["protocol", "game", lemons, "--levels", "1000000000"],
      "troupe: --levels must be 0 to 1000, got 1000000000"
    )
  })

  it.concurrent("--rationality below 0 (was: accepted)", async () => {
    await refused(
      ["protocol", "simulate", lemons, "--level", "1", "--rationality", "-1"],
      "troupe: --rationality must be 0 or more, got -1"
    )
    await refused(
      ["protocol", "game", lemons, "--rationality", "-2"],
      "troupe: --rationality must be 0 or more, got -2"
    )
  })

  it.concurrent("cluster status of a SQLite file that is not there (was: created it, 'No runner has reported')", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "troupe-status-"))
    await refused(
      ["cluster", "status", "typo.db"],
      "troupe: Cannot read the cluster's status at typo.db: there is no file typo.db. Check the URL (postgres://user:password@host:port/db, or a SQLite file) and that the database is up",
      cwd
    )
    expect(existsSync(join(cwd, "typo.db"))).toBe(false)
  })
})
