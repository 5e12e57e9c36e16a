/**
 * The `troupe` CLI's help and its mistakes: the help of the bin and of its commands, and bad flags, bad modules and
 * failing hooks, each one line on stderr and exit code 1. Help and flag mistakes of commands that start no node and
 * import no module run in this process (`troupeInProcess`), beside a child start of each kind.
 */
import { afterAll, describe, expect, it, vi } from "vitest"
import { stopAll } from "./support/child.ts"
import { troupeInProcess } from "./support/cli.ts"
import { fixture, lines, TOKEN, troupe } from "./support/cli-child.ts"

/** The same command in this process: for help and flag mistakes (see support/cli.ts). */
const inProcess = (...args: ReadonlyArray<string>) => troupeInProcess(args)

afterAll(stopAll)

// Each wait for a child has its own hang deadline with a report of what the child printed and when (see
// support/child.ts); the test's own timeout only bounds a test that hangs elsewhere.
vi.setConfig({ testTimeout: 300_000 })

describe("troupe --help", () => {
  it.concurrent("lists the commands", async () => {
    const { code, stdout } = await troupe("--help")
    expect(code).toBe(0)
    expect(stdout).toMatch(/node\s+Start a node/)
    expect(stdout).toMatch(/protocol\s+Check, project and draw/)
  })

  it.concurrent("lists the flags of `node`", async () => {
    const { code, stdout } = await inProcess("node", "--help")
    expect(code).toBe(0)
    for (const flag of ["--listen", "--peer", "--token", "--agents", "--name", "--host", "--peer-timeout"]) {
      expect(stdout).toContain(flag)
    }
  })

  it.concurrent("describes `protocol diagram`", async () => {
    const { code, stdout } = await inProcess("protocol", "diagram", "--help")
    expect(code).toBe(0)
    expect(stdout).toContain("--html")
    expect(stdout).toContain("<module>")
  })
})

describe("mistakes get one line and exit code 1", () => {
  type Case = readonly [what: string, args: ReadonlyArray<string>, says: RegExp, how: "child" | "in process"]
  const cases: ReadonlyArray<Case> = [
    [
      "a port that is not a number",
      ["node", "--listen", "abc", "--token", TOKEN, "--agents", "a.ts"],
      /--listen/,
      "in process"
    ],
    ["a missing flag", ["node", "--token", TOKEN], /Missing required flag: --agents/, "in process"],
    [
      "a peer that is not a WebSocket URL",
      ["node", "--token", TOKEN, "--agents", "a.ts", "--peer", "http://x"],
      /http:\/\/x is not a ws:\/\/ or wss:\/\/ URL/,
      "in process"
    ],
    ["an unknown command", ["nodes"], /Unknown subcommand "nodes"/, "child"],
    [
      "a module that does not exist",
      ["node", "--token", TOKEN, "--agents", "missing.ts"],
      /Cannot load missing\.ts/,
      "in process"
    ],
    [
      "an agents module that exports nothing usable",
      ["node", "--token", TOKEN, "--agents", fixture("bad-exports.ts")],
      /exports neither `agents` .* nor a `main` hook/,
      "child"
    ],
    [
      "a main hook that fails",
      ["node", "--token", TOKEN, "--agents", fixture("failing-main.ts")],
      /The main hook of .*failing-main\.ts failed: the database is not there/,
      "child"
    ],
    [
      "a certificate file that is not PEM",
      [
        "node",
        "--listen",
        "0",
        "--token",
        TOKEN,
        "--agents",
        fixture("echo-only.ts"),
        "--tls-cert",
        fixture("echo.ts"),
        "--tls-key",
        fixture("echo.ts")
      ],
      /troupe: --tls-cert is not a PEM certificate: /,
      "child"
    ],
    [
      "an empty inspector token (an unset variable)",
      ["node", "--inspect", "0", "--inspect-token", "", "--token", TOKEN, "--agents", fixture("echo-only.ts")],
      /The inspector could not start on 127\.0\.0\.1:0: its token is empty/,
      "child"
    ],
    [
      "a protocol module without protocols",
      ["protocol", "check", fixture("bad-exports.ts")],
      /exports no choreography protocol: export one made with Choreography\.make/,
      "child"
    ]
  ]
  for (const [what, args, message, how] of cases) {
    it.concurrent(`${what} (${how})`, async () => {
      const { code, stderr } = await (how === "child" ? troupe(...args) : inProcess(...args))
      expect(code).toBe(1)
      expect(lines(stderr)).toHaveLength(1)
      expect(stderr).toMatch(message)
      expect(stderr).not.toMatch(/\bat .*\.(ts|js):\d+/) // no stack trace
    })
  }

  it.concurrent("flag errors say where the usage is (a child, and in process)", async () => {
    const args = ["node", "--peer", "ftp://x", "--token", TOKEN, "--agents", "a.ts"]
    const said =
      'troupe node: Invalid value for flag --peer: "ftp://x". Expected: ftp://x is not a ws:// or wss:// URL. Run "troupe node --help" for usage.'
    const [child, here] = await Promise.all([troupe(...args), inProcess(...args)])
    expect(child.stderr.trim()).toBe(said)
    expect(child.code).toBe(1)
    expect(here).toEqual({ code: 1, stdout: "", stderr: `${said}\n` })
  })
})
