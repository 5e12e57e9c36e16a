/**
 * Every example runs as its package script would run it (as Node's main module, most of them one after another
 * in one process), exits 0 and prints what it is meant to show, so that none of them rots. The HTTP backend is also run as a server and
 * queried with real HTTP requests.
 */
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { run, start, stopAll, testEnv } from "./support/child.ts"
import { runModules } from "./support/module-batch.ts"

const examples = join(import.meta.dirname, "..", "packages", "examples")

/**
 * The examples that run one after another in one process (test/support/module-batch.ts), each as its package
 * script would run it: a process of their own cost ~0.6 s of CPU each, most of their run. The others get a
 * process each: team (the longest: it starts three `troupe node` processes of its own), protocols (it runs only
 * as the main module) and the demo (its own directory and environment).
 */
const batched = [
  "hello.ts",
  "two-buyer.ts",
  "supervision.ts",
  "two-nodes.ts",
  "agent.ts",
  "agree/main.ts",
  "http-backend.ts"
]
const outputs = (() => {
  let started: ReadonlyMap<string, Promise<string>> | undefined
  return () => {
    started ??= runModules(
      batched.map((file) => join(examples, "src", file)),
      { cwd: examples }
    )
    return started
  }
})()

/** The lines an example printed (it exited with 0). */
const example = async (file: string) => {
  if (batched.includes(file)) return (await outputs().get(join(examples, "src", file))!).split("\n")
  const exit = await run([join(examples, "src", file)], { cwd: examples })
  expect(exit.code, exit.stderr).toBe(0)
  return exit.stdout.split("\n")
}

afterAll(stopAll)

// Each test starts Node processes; on a loaded 2-core machine their startup alone can take seconds.
vi.setConfig({ testTimeout: 300_000 })

describe("examples", () => {
  it("each has a script in packages/examples/package.json", () => {
    const { scripts } = JSON.parse(readFileSync(join(examples, "package.json"), "utf8")) as {
      scripts: Record<string, string>
    }
    expect(scripts).toMatchObject({
      hello: "node src/hello.ts",
      supervision: "node src/supervision.ts",
      "two-nodes": "node src/two-nodes.ts",
      agent: "node src/agent.ts",
      team: "node src/team/main.ts",
      http: "node src/http-backend.ts",
      demo: "node src/demo/main.ts",
      "two-buyer": "node src/two-buyer.ts",
      agree: "node src/agree/main.ts",
      protocols: "node src/protocols.ts"
    })
  })

  // the examples with a process of their own first: the batched ones wait on one process, and vitest runs five
  // tests of a file at a time
  it.concurrent("team: three troupe node processes; the coordinator's agent asks agents on the others", async () => {
    const lines = await example("team/main.ts")
    expect(lines).toContainEqual(
      expect.stringMatching(/^\[coordinator\] ready: coordinator is up; peers: researcher at ws:.*, writer at ws:/)
    )
    expect(lines).toContain('[coordinator]   asked the researcher on its node: {"topic":"Troupe\'s agents"}')
    expect(lines).toContainEqual(
      expect.stringMatching(/^\[coordinator\] {3}asked the writer on its node: \{"notes":"- /)
    )
    expect(lines).toContainEqual(
      expect.stringMatching(/^\[coordinator\] answer: Troupe's agents run as actors: .* A supervisor restarts/)
    )
    for (const name of ["coordinator", "researcher", "writer"]) expect(lines).toContain(`[${name}] stopped.`)
  })

  it.concurrent("the demo: a software team works under a session: a refused move, a crash and restart, a diagram and a summary", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-demo-"))
    const exit = await run([join(examples, "src", "demo", "main.ts")], {
      cwd: dir,
      env: { ...testEnv(), INIT_CWD: dir, NO_COLOR: "1" }
    })
    expect(exit.code, exit.stderr).toBe(0)
    for (const line of [
      "Coder    ✗ refused before it left: you can only send to Tester now, not to Reviewer",
      "Tester   ✖ crashed: the test sandbox died",
      "Tester   ↻ restarted by its supervisor",
      "Tester   round 2: 3/3 tests pass",
      "Planner  done after 2 round(s): slugify passes its 3 tests",
      "Session completed"
    ]) {
      expect(exit.stdout).toContain(line)
    }
    expect(exit.stdout).toMatch(/violations caught\s+1/)
    expect(exit.stdout).toMatch(/restarts\s+1/)
    expect(exit.stdout).not.toContain("\u001b[") // no colour without a terminal
    // the live inspector's URL comes first, while the session runs
    expect(exit.stdout).toMatch(/^Inspector: http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+ \(live while the demo runs/m)
    const mermaid = readFileSync(join(dir, "out", "demo", "session.mmd"), "utf8")
    expect(mermaid).toContain("Reviewer->>Planner: done(")
    // the diagram tells of the refused move and the restart, where they happened
    expect(mermaid).toMatch(
      /Planner->>Coder: task\(.*\n {2}Note over Coder: the model's move was refused before it left/
    )
    expect(mermaid).toMatch(
      /Coder->>Tester: patch\(.*\n {2}Note over Tester: crashed in state 1: the test sandbox died\n {2}Note over Tester: restarted#59; resumed from its checkpoint/
    )
    const html = readFileSync(join(dir, "out", "demo", "session.html"), "utf8")
    expect(html).toContain("<svg")
    expect(html).not.toMatch(/<script|(src|href)="https?:/) // nothing to fetch: it renders offline
  })

  it.concurrent("protocols: review, negotiation, auction, escalation to a person, a person's vote", async () => {
    expect(await example("protocols.ts")).toEqual([
      "review: merged parser v2 after 2 rounds; reviewers saw merged, merged",
      "negotiation: the buyer deal 60; the seller got 60",
      "auction: bidder 1 wins at 38; bidders: lost, won, pays 38, lost",
      "escalation: amended: rename it to recipes_old instead",
      "decision: rejected; agent: yes: faster; Ada: no: not before the backup exists",
      ""
    ])
  })

  it.concurrent("http --serve: answers real HTTP requests, and stops on SIGINT", async () => {
    const server = start([join(examples, "src", "http-backend.ts"), "--serve"], {
      cwd: examples,
      env: { ...process.env, PORT: "0" }
    })
    const base = /listening on (http:\/\/\S+)/.exec(await server.line("listening on"))![1]!
    const request = async (method: string, path: string) => {
      const response = await fetch(`${base}${path}`, { method })
      return [response.status, await response.json()]
    }
    expect(await request("POST", "/visits/docs")).toEqual([202, { page: "docs" }])
    expect(await request("POST", "/visits/docs")).toEqual([202, { page: "docs" }])
    expect(await request("GET", "/visits/docs")).toEqual([200, { page: "docs", visits: 2 }])
    expect(await request("GET", "/visits/other")).toEqual([200, { page: "other", visits: 0 }])
    expect(await request("GET", `/slug?title=${encodeURIComponent("Actors & Agents")}`)).toEqual([
      200,
      { slug: "actors-agents" }
    ])
    expect(await request("DELETE", "/visits/docs")).toEqual([404, { error: "no route DELETE /visits/docs" }])
    server.process.kill("SIGINT")
    const exit = await server.exited()
    expect(exit.code).toBe(0)
    expect(exit.stdout).toContain("stopped")
  })

  it.concurrent("hello: a tell and an ask", async () => {
    expect(await example("hello.ts")).toEqual(["Hello, world!", "Bonjour, Troupe!", "greeted 2 times", ""])
  })

  it.concurrent("two-buyer: the protocol projected, a session of three actors, a rude buyer stopped at once", async () => {
    const lines = await example("two-buyer.ts")
    expect(lines).toContain("  A?title(string). A!quote(number). B!quote(number). A?{buy(string). end, cancel(). end}")
    expect(lines).toContain('A bought "Dune"; B\'s share: 15; S ships to 221B Baker Street')
    expect(lines).toContain('  A->>S: buy("221B Baker Street")')
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^Aborted: Protocol violation in session \S+ of TwoBuyer: role A in state 0 expected S!title\(string\) but got S!buy$/
      )
    )
  })

  it.concurrent("supervision: crashes, restarts with growing backoff, a spent budget", async () => {
    const lines = await example("supervision.ts")
    expect(lines).toContain("parser has done 1 job")
    for (const [n, backoff] of [
      [1, 0],
      [2, 100],
      [3, 200]
    ]) {
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`^ {2}/user/team/parser restarted: restart ${n}, backoff ${backoff} ms \\(took \\d+ ms\\)$`)
        )
      )
    }
    expect(lines.filter((l) => l === '  /user/team/parser crashed: cannot parse "bad"')).toHaveLength(4)
    expect(lines).toContain("parser has done 0 jobs (its state started again)")
    expect(lines).toContain("store still holds 3 items (one-for-one: its sibling was left alone)")
    expect(lines).toContain("  /user/team escalated the failure of /user/team/parser to its own supervisor")
    expect(lines).toContain("its supervisor (the root guardian) restarted the whole team: the store now holds 0 items")
  })

  it.concurrent("two-nodes: a second process joins the first and uses its actor", async () => {
    const lines = await example("two-nodes.ts")
    const pid = (prefix: string) => Number(/pid (\d+)/.exec(lines.find((l) => l.startsWith(prefix)) ?? "")?.[1])
    expect(pid("[alice] listening on ws://127.0.0.1:")).toBeGreaterThan(0)
    expect(pid("[bob] joined alice at ws://127.0.0.1:")).not.toBe(pid("[alice] listening"))
    expect(lines).toContain("[bob] alice's counter says 5")
    expect(lines).toContain("[alice] bob's process exited with code 0; the counter is at 5")
  })

  it.concurrent("agent: tools that ask an actor, a refusal the model adjusts to", async () => {
    const lines = await example("agent.ts")
    expect(lines.slice(0, 10)).toEqual([
      "user: Please reserve 5 lamps for me and tell me the total.",
      '  -> stock({"item":"lamp"})',
      "  <- 2",
      '  -> reserve({"item":"lamp","quantity":5})',
      '  <- refused: {"_tag":"OutOfStock","item":"lamp","available":2}',
      '  -> reserve({"item":"lamp","quantity":2})',
      '  -> price({"item":"lamp","quantity":2})',
      "  <- R-1",
      '  <- {"euros":59.8}',
      "assistant: Only 2 lamps were in stock: I reserved both (reservation R-1). The total is 59.80 euros."
    ])
  })

  it.concurrent("agree: the team votes (a dissent), logs the decisions, and a builder is held to them", async () => {
    const lines = await example("agree/main.ts")
    expect(lines).toContain("  storage: SQLite: accepted 2-1")
    expect(lines).toContain(
      "    frontend: no: IndexedDB in the browser would let the app work offline without a backend"
    )
    expect(lines).toContain(
      "#3 library: drizzle-orm: ACCEPTED (3 yes, 0 no, 0 absent; majority): typed queries, SQLite support, small"
    )
    expect(lines).toContainEqual(
      expect.stringContaining(
        "refused by the monitor: - at move.payload: it goes against decision #1 (storage: SQLite, accepted 2-1)"
      )
    )
    expect(lines.filter((l) => l.startsWith("  built "))).toEqual([
      "  built src/db.ts: open recipes.db with drizzle",
      "  built src/recipes.ts: the recipes table and its queries"
    ])
    expect(lines).toContain("  the builder's moves corrected: 1")
  })

  it.concurrent("http: plain Node routes that tell and ask actors, one on a node joined over the same server", async () => {
    const lines = await example("http-backend.ts")
    expect(lines).toContain('GET /visits/home -> 200 {"page":"home","visits":2}')
    expect(lines).toContain('GET /slug?title=Hello, Troupe! -> 200 {"slug":"hello-troupe"}')
    expect(lines).toContain("stopped")
  })
})
