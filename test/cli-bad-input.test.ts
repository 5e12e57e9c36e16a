/**
 * The CLI's numeric flags and database argument out of their range, and a node's addresses it cannot listen on, run
 * as real child processes: each is one line on stderr naming the flag (and its range, or what was wrong and what to
 * give instead), exit code 1, no stack trace, and nothing left behind. The other values of a flag whose first one a
 * child is refused run in this process (`troupeInProcess`: the same parse, without a Node start each).
 */
import { existsSync, mkdtempSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { run, stopAll, testEnv } from "./support/child.ts"
import { troupeInProcess } from "./support/cli.ts"

const root = join(import.meta.dirname, "..")
const CLI = join(root, "packages", "cli", "src", "bin.ts")
const lemons = join(import.meta.dirname, "fixtures", "cli", "lemons.ts")
const echo = join(import.meta.dirname, "fixtures", "cli", "echo.ts")
const troupe = (args: ReadonlyArray<string>, cwd = root) =>
  run([CLI, ...args], { cwd, env: { ...testEnv(), TROUPE_TOKEN: "a cli bad input test secret" } })

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000 })

/** One line on stderr, exit code 1, no stack trace anywhere: from a child process, or `inProcess`. */
const refused = async (args: ReadonlyArray<string>, line: string | RegExp, cwd?: string | "in process") => {
  const { code, stdout, stderr } = await (cwd === "in process" ? troupeInProcess(args) : troupe(args, cwd))
  if (typeof line === "string") expect(stderr.trim()).toBe(line)
  else expect(stderr.trim()).toMatch(line)
  expect(`${stdout}${stderr}`).not.toMatch(/^\s+at /m)
  expect(code).toBe(1)
}

describe("troupe with flags out of range", () => {
  it.concurrent("simulate --level -1 (was: TypeError with a stack trace)", () =>
    refused(["protocol", "simulate", lemons, "--level", "-1"], "troupe: --level must be 0 to 1000, got -1"))

  it.concurrent("game --levels -1 (was: accepted, no levels printed) and --levels 1000000000 (was: never ended)", async () => {
    await refused(
      ["protocol", "game", lemons, "--levels", "-1"],
      "troupe: --levels must be 0 to 1000, got -1",
      "in process"
    )
    await refused(
      ["protocol", "game", lemons, "--levels", "1000000000"],
      "troupe: --levels must be 0 to 1000, got 1000000000",
      "in process"
    )
  })

  it.concurrent("--rationality below 0 (was: accepted)", async () => {
    await refused(
      ["protocol", "simulate", lemons, "--level", "1", "--rationality", "-1"],
      "troupe: --rationality must be 0 or more, got -1",
      "in process"
    )
    await refused(
      ["protocol", "game", lemons, "--rationality", "-2"],
      "troupe: --rationality must be 0 or more, got -2",
      "in process"
    )
  })

  it.concurrent("node --listen abc (was: Effect CLI's 'Expected a string representing a finite number'), and its other numbers", async () => {
    const port = "a port: give a whole number from 0 to 65535 (0 picks a free one)"
    const node = (...args: ReadonlyArray<string>) => ["node", "--agents", echo, ...args]
    // the first in a child process, the others in this one, at once
    await Promise.all([
      refused(node("--listen", "abc"), `troupe: --listen: "abc" is not ${port}`),
      refused(node("--listen", "70000"), `troupe: --listen: "70000" is not ${port}`, "in process"),
      refused(node("--listen", "1.5"), `troupe: --listen: "1.5" is not ${port}`, "in process"),
      refused(node("--inspect", "x"), `troupe: --inspect: "x" is not ${port}`, "in process"),
      refused(
        node("--cluster", "c.db", "--cluster-port", "0"),
        'troupe: --cluster-port: "0" is not a port: give a whole number from 1 to 65535',
        "in process"
      ),
      refused(
        node("--peer-timeout", "soon"),
        'troupe: --peer-timeout: "soon" is not a number of seconds: give a whole number of 1 or more',
        "in process"
      )
    ])
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

/** A port something else listens on (closed when `use` is done). */
const takenPort = async <A>(use: (port: number) => Promise<A>): Promise<A> => {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    return await use((server.address() as { port: number }).port)
  } finally {
    server.close()
  }
}

const GIVE = "give 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or another address of this machine"
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
/** What is said of a name that does not resolve (no such name; in a sandbox, no DNS answer), and what to give. */
const unresolved = (flag: string) =>
  new RegExp(
    `^troupe: ${flag}: the host name no-such-host\\.invalid (does not resolve|could not be resolved now) ` +
      `\\(getaddrinfo [A-Z_]+ no-such-host\\.invalid[^)]*\\): (retry, or )?${literally(GIVE)}$`
  )

describe("troupe node on an address it cannot listen on: the flag at fault, what was wrong, what to give", () => {
  it.concurrent("--host that does not resolve (was: 'the transport could not start (listen.port): getaddrinfo ...')", () =>
    refused(["node", "--agents", echo, "--listen", "0", "--host", "no-such-host.invalid"], unresolved("--host")))

  it.concurrent("--host not of this machine (was: blamed listen.port)", () =>
    refused(
      ["node", "--agents", echo, "--listen", "0", "--host", "192.0.2.1"],
      `troupe: --host: 192.0.2.1 is not an address of this machine (listen EADDRNOTAVAIL: address not available 192.0.2.1): ${GIVE}`
    ))

  it.concurrent("--listen on a taken port (was: 'the transport could not start (listen.port): listen EADDRINUSE ...')", () =>
    takenPort((port) =>
      refused(
        ["node", "--agents", echo, "--listen", `${port}`],
        `troupe: --listen: port ${port} is taken (listen EADDRINUSE: address already in use 127.0.0.1:${port}): choose another, or 0 for a free one`
      )
    ))

  it.concurrent("--inspect-host that does not resolve (was: a raw getaddrinfo error and 'is the port taken?')", () =>
    refused(
      ["node", "--agents", echo, "--listen", "0", "--inspect", "0", "--inspect-host", "no-such-host.invalid"],
      unresolved("--inspect-host")
    ))
})
