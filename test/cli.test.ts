/**
 * The `troupe` CLI, run as a real child process: help, bad flags and bad modules (one line, exit 1), the
 * protocol commands on good and ill-formed modules, and two `troupe node` processes that join each other,
 * answer each other's asks and shut down gracefully on SIGINT. Help and flag mistakes of commands that start no
 * node and import no module run in this process (`troupeInProcess`), beside a child start of each kind.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Diagram } from "@troupe/runtime"
import { afterAll, describe, expect, it, vi } from "vitest"
import { TwoBuyer } from "./fixtures/cli/two-buyer.ts"
import { freePort, run, start, stopAll } from "./support/child.ts"
import { troupeInProcess } from "./support/cli.ts"

const root = join(import.meta.dirname, "..")
const CLI = join(root, "packages", "cli", "src", "bin.ts")
const fixture = (name: string) => join(import.meta.dirname, "fixtures", "cli", name)
const troupe = (...args: ReadonlyArray<string>) => run([CLI, ...args], { cwd: root })
/** The same command in this process: for help and flag mistakes (see support/cli.ts). */
const inProcess = (...args: ReadonlyArray<string>) => troupeInProcess(args)
const lines = (text: string) => text.split("\n").filter((line) => line !== "")
const TOKEN = "a secret of sixteen characters or more"

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

describe("a module that does not load: one line with its file, line and column", () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-load-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const files: Readonly<Record<string, string>> = {
    "ts-syntax.ts": "export const agents = {}\nexport const broken = (x: number => x\nexport const main = 1\n",
    "ts-eof.ts": "export const agents = {}\nexport const broken = (x: number => x\n",
    "ts-enum.ts": "export const agents = {}\nexport enum Mood { Happy }\n",
    "js-syntax.js": "export const table = {\n  a: 1,\n  b: 2,,\n}\n",
    "imports-js.ts": 'import { table } from "./js-syntax.js"\nexport const agents = { table }\n',
    "throws.ts": 'export const agents = {}\nconst load = () => {\n  throw new Error("no config file")\n}\nload()\n',
    "fine.ts": "export const x = 1\n",
    "missing-package.ts":
      'import { x } from "./fine.ts"\nimport { y } from "not-installed-anywhere"\nexport const agents = { x, y }\n'
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  const cases: ReadonlyArray<readonly [what: string, module: string, says: string]> = [
    ["a TypeScript syntax error", "ts-syntax.ts", "ts-syntax.ts:3:1: SyntaxError: Expected ',', got 'export'"],
    ["one at the end of the file", "ts-eof.ts", "ts-eof.ts:2:38: SyntaxError: Expected ',', got '<eof>'"],
    [
      "TypeScript that Node cannot strip",
      "ts-enum.ts",
      "ts-enum.ts:2:8: SyntaxError: TypeScript enum is not supported in strip-only mode"
    ],
    [
      "a JavaScript syntax error in a module it imports",
      "imports-js.ts",
      "js-syntax.js:3:8: SyntaxError: Unexpected token ','"
    ],
    ["an error thrown while it loads", "throws.ts", "throws.ts:3:9: no config file"],
    [
      "a package that is not installed",
      "missing-package.ts",
      "missing-package.ts:2:19: Cannot find package 'not-installed-anywhere' imported from"
    ]
  ]
  for (const [what, module, says] of cases) {
    it.concurrent(what, async () => {
      for (const args of [
        ["node", "--token", TOKEN, "--agents", join(dir, module)],
        ["protocol", "check", join(dir, module)]
      ]) {
        const { code, stderr } = await troupe(...args)
        expect(code, stderr).toBe(1)
        expect(lines(stderr), stderr).toHaveLength(1)
        expect(stderr).toContain(`troupe: Cannot load ${join(dir, module)}: ${join(dir, says)}`)
      }
    })
  }
})

describe("troupe protocol", () => {
  it.concurrent("check: roles and well-formedness of each protocol, made with make or makeUnsafe", async () => {
    const { code, stdout } = await troupe("protocol", "check", fixture("two-buyer.ts"))
    expect(code).toBe(0)
    expect(lines(stdout)).toEqual(["Ping: well-formed (roles Client, Server)", "TwoBuyer: well-formed (roles A, B, S)"])
  })

  it.concurrent("check: the problems of an ill-formed protocol, naming role, branch and label", async () => {
    const { code, stdout } = await troupe("protocol", "check", fixture("broken.ts"))
    expect(code).toBe(1)
    const out = lines(stdout)
    expect(out[0]).toBe("DuplicateLabels: not well-formed (1 problem)")
    expect(out[1]).toMatch(
      /^ {2}- DuplicateLabel \(role A, branch "second", label "go"\): choice at A › branch "second"/
    )
    // Where it was written, file:line:column, then that line with a caret under the builder call.
    expect(out.slice(2, 5)).toEqual([
      "    at test/fixtures/cli/broken.ts:8:16",
      '      8 |     second: [$.message("A", "B", "go", Schema.Void), $.message("B", "A", "two", Schema.Void)]',
      "        |                ^"
    ])
    expect(out[5]).toBe("Fine: well-formed (roles A, B)")
  })

  it.concurrent("check: protocols of any size are checked; one that could not be checked fails the command", async () => {
    const { code, stdout } = await troupe("protocol", "check", fixture("large.ts"))
    expect(code).toBe(1)
    expect(lines(stdout)).toEqual([
      "Choices: well-formed (roles A, B)",
      "Deep: well-formed (roles A, B)",
      "Dies: not checked: RangeError: Maximum call stack size exceeded",
      "Long: well-formed (roles A, B)"
    ])
    const checked = await troupe("protocol", "check", fixture("large.ts"), "--protocol", "Long")
    expect(checked.code).toBe(0)
  })

  it.concurrent("project: 24 sequential choices print in text as long as the protocol", async () => {
    const { code, stdout } = await troupe("protocol", "project", fixture("large.ts"), "--protocol", "Choices")
    expect(code).toBe(0)
    const [name, a, b] = lines(stdout)
    expect(name).toBe("Choices")
    expect(a).toMatch(/^ {2}A: B!\{a0\(\), b0\(\)\}\. B!\{a1\(\), b1\(\)\}\. /)
    expect(b?.endsWith("A?{a23(). end, b23(). end}")).toBe(true)
    expect(stdout.length).toBeLessThan(2_000)
  })

  it.concurrent("check: a module that throws a ProtocolDefinitionError while loading", async () => {
    const { code, stdout, stderr } = await troupe("protocol", "check", fixture("broken-unsafe.ts"))
    expect(code).toBe(1)
    expect(stderr).toBe("")
    expect(stdout).toContain("UnknowableChoice: not well-formed (1 problem)")
    expect(stdout).toContain(
      '- UnmergeableBranches (role C, branch "l2", label "l2"): choice at A: role C cannot learn'
    )
  })

  it.concurrent("project: each role's local type, and with --machine its state machine", async () => {
    const plain = await troupe("protocol", "project", fixture("two-buyer.ts"), "--protocol", "TwoBuyer")
    expect(plain.code).toBe(0)
    expect(lines(plain.stdout)).toEqual([
      "TwoBuyer",
      "  A: S!title(string). S?quote(number). B!split(number). B?{accept(). S!buy(string). end, reject(). S!cancel(). end}",
      "  B: S?quote(number). A?split(number). A!{accept(). end, reject(). end}",
      "  S: A?title(string). A!quote(number). B!quote(number). A?{buy(string). end, cancel(). end}"
    ])
    const machines = await troupe("protocol", "project", fixture("two-buyer.ts"), "--protocol", "Ping", "--machine")
    expect(lines(machines.stdout)).toContain("    Ping/Client (start 0)")
    expect(lines(machines.stdout)).toContain("      0: Server!ping(number) -> 1, Server!bye() -> 2")
  })

  it.concurrent("project: an unknown protocol name is one line", async () => {
    const { code, stderr } = await troupe("protocol", "project", fixture("two-buyer.ts"), "--protocol", "Nope")
    expect(code).toBe(1)
    expect(stderr.trim()).toMatch(/has no protocol named Nope \(it has Ping, TwoBuyer\)/)
  })

  it.concurrent("diagram: writes Mermaid, and an HTML page and an SVG that need no network", async () => {
    const out = mkdtempSync(join(tmpdir(), "troupe-diagram-"))
    try {
      const { code, stdout } = await troupe(
        "protocol",
        "diagram",
        fixture("two-buyer.ts"),
        "--protocol",
        "TwoBuyer",
        "--out",
        out,
        "--html",
        "--svg"
      )
      expect(code).toBe(0)
      expect(lines(stdout)).toEqual(["mmd", "html", "svg"].map((ext) => `wrote ${join(out, `TwoBuyer.${ext}`)}`))
      expect(readFileSync(join(out, "TwoBuyer.mmd"), "utf8")).toBe(`${Diagram.protocol(TwoBuyer)}\n`)
      const html = readFileSync(join(out, "TwoBuyer.html"), "utf8")
      expect(html).toMatch(/^<!doctype html>/)
      expect(html).toContain("<svg")
      expect(html).toContain("title(string)")
      expect(html).toContain("A?title(string). A!quote(number)") // S's local type
      expect(html).not.toMatch(/<script|<link|\bsrc=|\bhref=|url\(/)
      const svg = readFileSync(join(out, "TwoBuyer.svg"), "utf8")
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
      expect(svg).toContain(">alt</text>")
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })

  it.concurrent("diagram: an ill-formed protocol gets its problems, not a diagram", async () => {
    const { code, stdout } = await troupe("protocol", "diagram", fixture("broken.ts"), "--out", tmpdir())
    expect(code).toBe(1)
    expect(stdout).toContain("DuplicateLabels: not well-formed")
    expect(stdout).not.toContain("wrote")
  })
})

describe("troupe node", () => {
  it.concurrent("two nodes join each other, each hook asks the other's agent, SIGINT stops them gracefully", async () => {
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const node = (name: string, port: number, peer: number) =>
      start(
        [
          CLI,
          "node",
          "--name",
          name,
          "--listen",
          String(port),
          "--peer",
          `ws://127.0.0.1:${peer}`,
          "--token",
          TOKEN,
          "--agents",
          fixture("echo.ts")
        ],
        { cwd: root }
      )
    const alice = node("alice", alicePort, bobPort)
    await alice.line(`waiting for ws://127.0.0.1:${bobPort} (retrying until it is up`)
    const bob = node("bob", bobPort, alicePort)
    expect(await alice.line("reply:")).toBe("reply: bob echoes hello from alice")
    expect(await bob.line("reply:")).toBe("reply: alice echoes hello from bob")
    expect(await alice.line("agent on bob:")).toBe("agent on bob: the assistant read: User")
    expect(await alice.line("echoes registered on:")).toBe("echoes registered on: alice, bob")
    expect(await bob.line("echoes registered on:")).toBe("echoes registered on: alice, bob")
    expect(alice.stdout()).toContain(`ready: alice is up; peers: bob at ws://127.0.0.1:${bobPort}. Ctrl-C stops it.`)
    expect(alice.stdout()).toContain('  agent /user/echo (Echo), registered as "echoes"')
    expect(alice.stdout()).toContain("  agent /user/assistant (Agent)")

    alice.process.kill("SIGINT")
    const aliceExit = await alice.exited()
    expect(aliceExit.code).toBe(0)
    expect(lines(aliceExit.stdout).slice(-3)).toEqual(["shutting down alice...", "echo on alice released", "stopped."])
    bob.process.kill("SIGINT")
    const bobExit = await bob.exited()
    expect(bobExit.code).toBe(0)
    expect(bobExit.stdout).toContain("echo on bob released")
  })

  it.concurrent("a hook waits for a node that joins it, asks it, and stops its node (exit code 0)", async () => {
    const hub = start(
      [CLI, "node", "--name", "hub", "--listen", "0", "--token", TOKEN, "--agents", fixture("hub.ts")],
      {
        cwd: root
      }
    )
    const url = /listening on (\S+)/.exec(await hub.line("listening on"))![1]!
    await hub.line("hub waits for bob")
    const bob = start(
      [CLI, "node", "--name", "bob", "--peer", url, "--token", TOKEN, "--agents", fixture("echo-only.ts")],
      { cwd: root }
    )
    const exit = await hub.exited()
    expect(exit.code, `hub:\n${exit.stdout}\n${exit.stderr}\nbob:\n${bob.stdout()}\n${bob.stderr()}`).toBe(0)
    expect(lines(exit.stdout)).toContain("reply: bob echoes hello from the hub")
    expect(lines(exit.stdout).at(-1)).toBe("stopped.")
    bob.process.kill("SIGINT")
    expect((await bob.exited()).code).toBe(0)
  })

  it.concurrent("two nodes started apart find each other and run an agent session across them", async () => {
    const shop = start(
      [CLI, "node", "--name", "shop", "--listen", "0", "--token", TOKEN, "--agents", fixture("haggle-shop.ts")],
      { cwd: root }
    )
    const url = /listening on (\S+)/.exec(await shop.line("listening on"))![1]!
    const buyer = start(
      [CLI, "node", "--name", "buyers", "--peer", url, "--token", TOKEN, "--agents", fixture("haggle-buyer.ts")],
      { cwd: root }
    )
    const exit = await buyer.exited()
    expect(exit.code, exit.stderr).toBe(0)
    expect(lines(exit.stdout)).toContain('session: the seller says "sold for 30"; the buyer corrected 1 move(s)')
    expect(exit.stdout).toContain("Buyer->>Seller: accept(")
    expect(await shop.line("seller: sold")).toBe("seller: sold for 30")
    shop.process.kill("SIGINT")
    expect((await shop.exited()).code).toBe(0)
  })

  it.concurrent("a peer that never comes up: one line, exit code 1", async () => {
    const port = await freePort()
    const { code, stdout, stderr } = await troupe(
      "node",
      "--listen",
      "0",
      "--peer",
      `ws://127.0.0.1:${port}`,
      "--peer-timeout",
      "1",
      "--token",
      TOKEN,
      "--agents",
      fixture("echo.ts")
    )
    expect(code).toBe(1)
    expect(lines(stderr)).toEqual([
      `troupe: Could not reach ws://127.0.0.1:${port} within 1s: start a node there (troupe node --listen <port> ...) with the same --token, or check the URL`
    ])
    expect(stdout).toContain("stopped.") // what it had started was stopped
  })
})
