/**
 * Red team (session 14), as a new user runs the README's star with `troupe node`: three real processes (a hub, a
 * shop whose seller is slow to quote, a buyers node running Haggle sessions with the shop), and faults in the
 * middle of a session:
 * - the shop SIGKILLed mid-session and started again on its port (at once, or after a while): the running session
 *   fails typed and soon (not at its step deadline), and a new session with the new incarnation completes;
 * - the shop SIGKILLed while the buyers node shuts down gracefully: the buyers node exits in bounded time.
 * No process prints a stack trace, and none hangs.
 */
import { afterAll, describe, expect, it, vi } from "vitest"
import { type Child, freePort, start, stopAll, testEnv } from "./support/child.ts"
import { CLI, fixture, secret } from "./support/target-node.ts"

/** Minutes of child processes or heap rounds: run by `.ci/run` after the default suite (README, "Tests"). */
const long = process.env.TROUPE_LONG === "1"

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000 })

const root = new URL("..", import.meta.url).pathname

/** Lines that look like a JavaScript stack trace. */
const stackLines = (text: string) =>
  text.split("\n").filter((line) => /^\s+at .+\(.*:\d+:\d+\)|^\s+at \S+:\d+:\d+/.test(line))

const star = async (quoteDelayMs: number) => {
  const env = { ...testEnv(), TROUPE_TOKEN: secret() }
  const hub = start([CLI, "node", "--name", "hub", "--listen", "0", "--agents", fixture("echo-only.ts")], {
    cwd: root,
    env
  })
  const hubUrl = /listening on (\S+)/.exec(await hub.line("listening on"))![1]!
  const shopPort = await freePort()
  const startShop = (delayMs: number) =>
    start(
      [
        CLI,
        "node",
        "--name",
        "shop",
        "--listen",
        String(shopPort),
        "--peer",
        hubUrl,
        "--agents",
        fixture("haggle-shop-slow.ts")
      ],
      { cwd: root, env: { ...env, QUOTE_DELAY_MS: String(delayMs) } }
    )
  const shop = startShop(quoteDelayMs)
  await shop.line("ready:")
  const buyers = start(
    [CLI, "node", "--name", "buyers", "--listen", "0", "--peer", hubUrl, "--agents", fixture("haggle-buyer-paced.ts")],
    { cwd: root, env: { ...env, GIVE_UP_MS: "120000" } }
  )
  return { hub, shop, buyers, startShop }
}

const all = (children: ReadonlyArray<Child>) => children.map((c) => c.stdout() + c.stderr()).join("\n---\n")

describe.runIf(long)("troupe node processes: a peer killed mid-session and started again", () => {
  for (const gapMs of [0, 3000]) {
    it.concurrent(`the shop SIGKILLed mid-session, started again on its port after ${gapMs} ms: typed failure, then a session completes`, async () => {
      const { hub, shop, buyers, startShop } = await star(8000)
      await shop.line("quoting in 8000 ms")
      shop.process.kill("SIGKILL")
      await shop.exit
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs))
      const again = startShop(0)
      await again.line("ready:")
      const exit = await buyers.exited()
      console.log(`buyers:\n${exit.stdout}\n${exit.stderr}\nshop again:\n${again.stdout()}${again.stderr()}`)
      expect(exit.code, all([buyers, hub, again])).toBe(0)
      const failed = /session 1 failed after (\d+) ms: (\w+): (.*)/.exec(exit.stdout)
      expect(failed, exit.stdout).not.toBeNull()
      expect(exit.stdout).toMatch(/session \d+: bought for 30/)
      expect(stackLines(exit.stdout + exit.stderr + again.stdout() + again.stderr() + hub.stderr())).toEqual([])
      for (const node of [hub, again]) {
        node.process.kill("SIGINT")
        expect((await node.exited()).code).toBe(0)
      }
    })
  }

  it.concurrent("the shop SIGKILLed while the buyers node shuts down gracefully mid-session: it exits in bounded time", async () => {
    const { hub, shop, buyers } = await star(8000)
    await shop.line("quoting in 8000 ms")
    const stopAt = Date.now()
    buyers.process.kill("SIGINT")
    shop.process.kill("SIGKILL")
    const exit = await buyers.exited(60_000)
    const took = Date.now() - stopAt
    console.log(`buyers exit ${exit.code} after ${took} ms:\n${exit.stdout}\n${exit.stderr}`)
    expect(stackLines(exit.stdout + exit.stderr + hub.stderr())).toEqual([])
    expect(took).toBeLessThan(30_000)
    hub.process.kill("SIGINT")
    expect((await hub.exited()).code).toBe(0)
  })
})

describe.runIf(long)("troupe node processes: the coordinator of a session stopped mid-session", () => {
  for (const stopMs of [3000, 15_000]) {
    it.concurrent(`the buyers node (the coordinator) SIGSTOPped ${stopMs} ms mid-session: the session ends, typed or done, and a session completes`, async () => {
      const { hub, shop, buyers } = await star(2000)
      await shop.line("quoting in 2000 ms")
      buyers.process.kill("SIGSTOP")
      await new Promise((resolve) => setTimeout(resolve, stopMs))
      buyers.process.kill("SIGCONT")
      const exit = await buyers.exited()
      console.log(
        `buyers after a ${stopMs} ms stop:\n${exit.stdout}\n${exit.stderr}\nshop:\n${shop.stdout()}${shop.stderr()}`
      )
      expect(exit.code, all([buyers, hub, shop])).toBe(0)
      expect(exit.stdout).toMatch(/session \d+: bought for 30/)
      // the shop never went down: the stalled buyers node was declared down by it (was: "Role Seller left
      // session ...: its node went down: node shop", sending the user to look at the wrong machine)
      expect(exit.stdout).not.toMatch(/went down: node shop/)
      const failed = /session 1 failed after \d+ ms: .*/.exec(exit.stdout)?.[0]
      if (failed !== undefined && /node shop/.test(failed))
        expect(failed).toMatch(/node shop is alive but ended its link with node buyers/)
      expect(stackLines(exit.stdout + exit.stderr + shop.stdout() + shop.stderr() + hub.stderr())).toEqual([])
      for (const node of [hub, shop]) {
        node.process.kill("SIGINT")
        expect((await node.exited()).code).toBe(0)
      }
    })
  }
})

describe.runIf(long)("troupe node processes: a graceful shutdown while a peer is stopped", () => {
  it.concurrent("the buyers node stopped with SIGINT while the shop is SIGSTOPped mid-session: it exits in bounded time", async () => {
    const { hub, shop, buyers } = await star(8000)
    await shop.line("quoting in 8000 ms")
    shop.process.kill("SIGSTOP")
    const stopAt = Date.now()
    buyers.process.kill("SIGINT")
    const exit = await buyers.exited(90_000)
    const took = Date.now() - stopAt
    shop.process.kill("SIGCONT")
    console.log(`buyers exit ${exit.code} after ${took} ms with the shop stopped:\n${exit.stdout}\n${exit.stderr}`)
    expect(stackLines(exit.stdout + exit.stderr)).toEqual([])
    expect(took).toBeLessThan(15_000)
    for (const node of [hub, shop]) {
      node.process.kill("SIGINT")
      expect((await node.exited()).code).toBe(0)
    }
  })
})
