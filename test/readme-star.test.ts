/**
 * The README's "Running across machines" commands, run as written by real `troupe node` processes with TLS:
 * three nodes in a star (a hub, and two nodes that join only the hub), and a session across the two leaves.
 * What a test machine cannot have is replaced, and only that: the host names become `localhost` (the test
 * certificates name it), each host's port 7000 a free port, the files the test's own (certificates made with
 * openssl, the agents modules from test/fixtures/cli), and `npx -y pnpm@10.34.9 troupe` the CLI's source.
 *
 * The leaves' agents: the shop hosts a seller, the buyers node a buyer whose `main` hook runs a Haggle session
 * with the seller on node shop, a node it never dialed.
 *
 * The three commands start at once, as on three machines: nothing in the README orders them (a leaf retries the
 * hub until it is up), and a node start is most of each test's time.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import * as Certs from "./support/certs.ts"
import { freePort, start, stopAll, testEnv } from "./support/child.ts"
import { CLI, fixture, secret } from "./support/target-node.ts"

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000 })

const root = join(import.meta.dirname, "..")

/** The commands of the README's "Running across machines" block, one argument list each. */
const commands = (): ReadonlyArray<ReadonlyArray<string>> => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const block = /## Running across machines\n[\s\S]*?```sh\n([\s\S]*?)\n```/.exec(readme)![1]!
  return block
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .filter((line) => !line.startsWith("#") && line.trim() !== "")
    .map((line) => line.trim().split(/\s+/))
}

const modules: Record<string, string> = {
  "./hub.ts": fixture("echo-only.ts"),
  "./shop.ts": fixture("haggle-shop.ts"),
  "./buyers.ts": fixture("haggle-buyer.ts")
}

/** The lines of a node's log at level WARN or ERROR. */
const warnings = (stderr: string): ReadonlyArray<string> =>
  stderr.split("\n").filter((line) => / level=(WARN|ERROR) /.test(line))

/** The certificates of the star's nodes (each CN its `--name`), made once for both stars. */
const certificates = (() => {
  let files: Record<string, string> | undefined
  return (): Record<string, string> => {
    if (files !== undefined) return files
    const ca = Certs.authority()
    files = { "ca.pem": ca.certFile }
    for (const name of ["hub", "shop", "buyers"]) {
      const pem = ca.issue(name)
      files[`${name}.pem`] = pem.certFile
      files[`${name}.key`] = pem.keyFile
    }
    return files
  }
})()

/**
 * Starts the README's star, as written: its three nodes at once (each `launch`ed with the README's command), and
 * resolves once each says it is ready.
 */
const star = async (buyersModule: string) => {
  const lines = commands()
  expect(lines.map((args) => args.slice(0, 5).join(" "))).toEqual([
    "npx -y pnpm@10.34.9 troupe node",
    "npx -y pnpm@10.34.9 troupe node",
    "npx -y pnpm@10.34.9 troupe node"
  ])
  const files = certificates()
  const ports = new Map<string, number>()
  for (const host of ["host-a", "host-b", "host-c"]) ports.set(host, await freePort())
  const url = (text: string) =>
    text.replace(/host-([a-c]):7000/g, (_, h: string) => `localhost:${ports.get(`host-${h}`)}`)
  const token = secret()
  const launch = async (args: ReadonlyArray<string>) => {
    const rest = args.slice(5)
    const host = /wss:\/\/(host-[a-c]):7000/.exec(rest[rest.indexOf("--advertise") + 1]!)![1]!
    const argv = rest.map((arg, i) =>
      rest[i - 1] === "--listen"
        ? String(ports.get(host))
        : arg === "./buyers.ts"
          ? buyersModule
          : (modules[arg] ?? files[arg] ?? url(arg))
    )
    const child = start([CLI, "node", ...argv], { cwd: root, env: { ...testEnv(), TROUPE_TOKEN: token } })
    await child.line(/ready:|session:/)
    return child
  }
  // the hub, the node the leaves join, and the two leaves (each joins the hub, and learns the other from it)
  const [hub, shop, buyers] = await Promise.all(lines.map(launch))
  return { hub: hub!, shop: shop!, buyers: buyers! }
}

describe("README: running across machines", () => {
  it("three nodes in a star, as the README starts them: a session across the two leaves runs", async () => {
    const { hub, shop, buyers } = await star(fixture("haggle-buyer.ts"))
    const exit = await buyers.exited()
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stdout).toContain('session: the seller says "sold for 30"')
    // the buyers node never dialed the shop: it learned it from the hub and linked to it
    expect(exit.stdout).toMatch(/node shop joined/)
    expect(await shop.line("seller: sold")).toBe("seller: sold for 30")
    const stderr = [exit.stderr]
    for (const node of [hub, shop]) {
      node.process.kill("SIGINT")
      const exited = await node.exited()
      expect(exited.code).toBe(0)
      stderr.push(exited.stderr)
    }
    // a clean run warns of nothing: not the hub's receptionist key its leaves do not carry, not the peers a
    // stopping node refuses or hangs up on
    expect(stderr.flatMap(warnings)).toEqual([])
  })

  it("the README's star, then the hub killed (SIGKILL): a session across the two leaves still runs on their own link", async () => {
    const { hub, shop, buyers } = await star(fixture("haggle-buyer-hubless.ts"))
    await buyers.line("linked to shop: stop the hub now")
    hub.process.kill("SIGKILL")
    await buyers.line("hub is down")
    const exit = await buyers.exited()
    expect(exit.code, exit.stdout + exit.stderr).toBe(0)
    // a real fault still warns
    expect(warnings(exit.stderr).join("\n")).toMatch(/message="link down".* peer=hub /)
    expect(exit.stdout).toContain('session: the seller says "sold for 30"')
    expect(await shop.line("seller: sold")).toBe("seller: sold for 30")
    shop.process.kill("SIGINT")
    expect((await shop.exited()).code).toBe(0)
  })

  it("leaves that only dial: a hook looking on the other says which nodes have no link, not 'was not there'", async () => {
    const token = secret()
    const env = { ...testEnv(), TROUPE_TOKEN: token }
    const node = async (args: ReadonlyArray<string>) => {
      const child = start([CLI, "node", ...args], { cwd: root, env })
      await child.line(/ready:/)
      return child
    }
    const port = await freePort()
    const url = `ws://127.0.0.1:${port}`
    // neither leaf listens: no member can dial either (a leaf that listened would be dialed by the other); the
    // shop starts with the hub (it retries it until it is up), the buyers once the shop has joined the hub
    const [hub, shop] = await Promise.all([
      node(["--name", "hub", "--listen", String(port), "--agents", fixture("echo-only.ts")]),
      node(["--name", "shop", "--peer", url, "--agents", fixture("haggle-shop.ts")])
    ])
    const buyers = start([CLI, "node", "--name", "buyers", "--peer", url, "--agents", fixture("apart-buyer.ts")], {
      cwd: root,
      env
    })
    const exit = await buyers.exited()
    expect(exit.code, exit.stdout + exit.stderr).toBe(1)
    expect(exit.stderr).toContain(
      "actor /user/seller on shop could not be reached after 2 s: node shop has no link to node buyers (linked: hub)"
    )
    for (const child of [hub, shop]) {
      child.process.kill("SIGINT")
      expect((await child.exited()).code).toBe(0)
    }
  })
})
