/**
 * `troupe node`, run as real child processes: two nodes that join each other, answer each other's asks and shut down
 * gracefully on SIGINT; a hook that waits for a node to join; an agent session across two nodes started apart; a peer
 * that never comes up.
 */
import { afterAll, describe, expect, it, vi } from "vitest"
import { freePort, start, stopAll } from "./support/child.ts"
import { CLI, fixture, lines, root, TOKEN, troupe } from "./support/cli-child.ts"

afterAll(stopAll)

// Each wait for a child has its own hang deadline with a report of what the child printed and when (see
// support/child.ts); the test's own timeout only bounds a test that hangs elsewhere.
vi.setConfig({ testTimeout: 300_000 })

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
