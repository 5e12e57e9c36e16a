import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { freePort, start, stopAll, testEnv } from "./support/child.ts"
import { runModules } from "./support/module-batch.ts"

const root = join(import.meta.dirname, "..")
afterAll(stopAll)
// a hang bound: each wait for a child fails only on a hang (child.ts HANG_MILLIS)
vi.setConfig({ testTimeout: 300_000 })
const readme = readFileSync(join(root, "README.md"), "utf8")

interface Example {
  readonly path: string
  readonly code: string
  /** What a person types while it runs (`<!-- input -->`), if anything. */
  readonly input: string | undefined
  readonly prints: ReadonlyArray<string>
}

/**
 * Every `<!-- example: path -->` block of the README, with the `<!-- input -->` block (what a person types)
 * and the `<!-- prints -->` block after it.
 */
const examples: ReadonlyArray<Example> = [
  ...readme.matchAll(
    /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)\n```(?:\n\n<!-- input -->\n```text\n([\s\S]*?)\n```)?(?:\n\n<!-- prints -->\n```text\n([\s\S]*?)\n```)?/g
  )
].map(([, path, code, input, prints]) => ({
  path: path!,
  code: code!,
  input: input === undefined ? undefined : `${input}\n`,
  prints: prints === undefined ? [] : prints.split("\n")
}))

/**
 * What each example printed, run as `node <example>` would run it: two processes (test/support/module-batch.ts)
 * run them, each one example after another (a process per example cost ~0.6 s of CPU each, most of an example's
 * run); the one that reads what a person types last, given its input. The two take about as long.
 */
const outputs = (() => {
  let started: ReadonlyMap<string, Promise<string>> | undefined
  return (): ReadonlyMap<string, Promise<string>> => {
    if (started !== undefined) return started
    const paths = examples.map(({ path }) => join(root, path))
    const typed = examples.filter(({ input }) => input !== undefined)
    expect(typed.length).toBeLessThanOrEqual(1) // (one stdin per process)
    const rest = examples.filter(({ input }) => input === undefined).map(({ path }) => join(root, path))
    const half = Math.ceil(paths.length / 2)
    started = new Map([
      ...runModules(rest.slice(0, half), { cwd: root }),
      ...runModules([...rest.slice(half), ...typed.map(({ path }) => join(root, path))], {
        cwd: root,
        ...(typed[0]?.input === undefined ? {} : { input: typed[0].input })
      })
    ])
    return started
  }
})()

/**
 * Every `<!-- server: path -->` block: a server that runs until Ctrl-C, with the `<!-- requests -->` block after
 * it (`curl -d "<body>" localhost:3000<path>   # <answer>`).
 */
const servers = [
  ...readme.matchAll(
    /<!-- server: (\S+) -->\n```ts\n([\s\S]*?)\n```\n[\s\S]*?<!-- requests -->\n```sh\n([\s\S]*?)\n```/g
  )
].map(([, path, code, requests]) => ({
  path: path!,
  code: code!,
  requests: requests!.split("\n").map((line) => {
    const [, body, target, answer] = /^curl -d "(.*?)" localhost:3000(\S+)\s+# (.*)$/.exec(line)!
    return { body: body!, target: target!, answer: answer! }
  })
}))

/** Every `<!-- file: path -->` block: shown as it is in the repository. */
const files = [...readme.matchAll(/<!-- file: (\S+) -->\n```\w*\n([\s\S]*?)\n```/g)].map(([, path, text]) => ({
  path: path!,
  text: text!
}))

// every case at once (the server its own child process, on its own port; the examples in two)
describe.concurrent("README", () => {
  it("has a quick start of exactly two commands", () => {
    const quickStart = /## Quick start\n[\s\S]*?```sh\n([\s\S]*?)\n```/.exec(readme)![1]!
    expect(quickStart.split("\n").map((line) => line.replace(/\s+#.*$/, ""))).toEqual([
      "npx -y pnpm@10.34.9 install && npx -y pnpm@10.34.9 demo",
      "npx -y pnpm@10.34.9 install && npx -y pnpm@10.34.9 check"
    ])
  })

  for (const server of servers) {
    it(`shows ${server.path} as it is, and it serves the requests shown`, async () => {
      expect(server.code).toBe(readFileSync(join(root, server.path), "utf8").trimEnd())
      const port = await freePort()
      const child = start([join(root, server.path)], { cwd: root, env: { ...testEnv(), PORT: String(port) } })
      await child.line(`localhost:${port}`)
      for (const { body, target, answer } of server.requests) {
        const response = await fetch(`http://localhost:${port}${target}`, { method: "POST", body })
        expect(await response.text()).toBe(`${answer}\n`)
      }
      child.process.kill("SIGINT")
      expect((await child.exited()).code).toBe(0)
    })
  }

  for (const file of files) {
    it(`shows ${file.path} as it is`, () => {
      expect(file.text).toBe(readFileSync(join(root, file.path), "utf8").trimEnd())
    })
  }

  it("has examples", () => {
    expect(examples.length).toBeGreaterThanOrEqual(3)
  })

  for (const example of examples) {
    it(`shows ${example.path} as it is, and it runs`, async () => {
      expect(example.code).toBe(readFileSync(join(root, example.path), "utf8").trimEnd())
      const stdout = await outputs().get(join(root, example.path))!
      const lines = stdout.split("\n")
      for (const line of example.prints) expect(lines).toContain(line)
    })
  }
})
