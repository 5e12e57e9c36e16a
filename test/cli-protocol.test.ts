/**
 * `troupe protocol`, run as a real child process: `check`, `project` and `diagram` on good and ill-formed modules.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Diagram } from "@troupe/runtime"
import { afterAll, describe, expect, it, vi } from "vitest"
import { TwoBuyer } from "./fixtures/cli/two-buyer.ts"
import { stopAll } from "./support/child.ts"
import { fixture, lines, troupe } from "./support/cli-child.ts"

afterAll(stopAll)

// Each wait for a child has its own hang deadline with a report of what the child printed and when (see
// support/child.ts); the test's own timeout only bounds a test that hangs elsewhere.
vi.setConfig({ testTimeout: 300_000 })

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
