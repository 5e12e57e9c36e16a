/**
 * Troupe as someone else's project gets it. Every publishable package is packed as it would be published
 * (built to JavaScript with declarations, `workspace:` versions replaced), and the tarballs are installed
 * with plain npm into a fresh project in a temporary folder outside the repository. There, under Node 24:
 * a consumer file is typechecked by that project's own `tsc`, the README's backend serves real HTTP
 * requests, an Effect program runs, and the installed `troupe` command runs `troupe node` and
 * `troupe protocol check` on a module of that project.
 */
import { execFile } from "node:child_process"
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { type Exit, freePort, HANG_MILLIS, start, stopAll } from "./support/child.ts"

const root = join(import.meta.dirname, "..")
const fixtures = join(import.meta.dirname, "fixtures", "consumer")
const exec = promisify(execFile)

interface Manifest {
  readonly name: string
  readonly private?: boolean
  readonly version: string
  readonly exports: Readonly<Record<string, unknown>>
  readonly dependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly engines?: { readonly node?: string }
  readonly bin?: Readonly<Record<string, string>>
  readonly scripts?: Readonly<Record<string, string>>
}

const readManifest = (path: string): Manifest => JSON.parse(readFileSync(path, "utf8")) as Manifest

/** The packages that are published: every package of the workspace that is not private. */
const publishable = readdirSync(join(root, "packages"))
  .map((dir) => ({
    dir: join(root, "packages", dir),
    manifest: readManifest(join(root, "packages", dir, "package.json"))
  }))
  .filter(({ manifest }) => manifest.private !== true)

const pnpm = `pnpm@${(readManifest(join(root, "package.json")) as unknown as { packageManager: string }).packageManager.split("@")[1]}`

/**
 * The environment of a user's shell: Node 24 first on the PATH (the one running the tests), and none of the
 * variables pnpm or npm set for the scripts they run.
 */
const userEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_|PNPM_|INIT_CWD$|OPENAI_|TROUPE_)/i.test(key))
  ),
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
  npm_config_update_notifier: "false",
  ...extra
})

/**
 * Runs a command to its end. `timeout` only catches a hang (npm, pnpm and tsc are slow on a loaded machine,
 * never stuck): the command is killed then (SIGKILL: npm answers SIGTERM by rolling back what it installed,
 * which took another minute at load 30). A failure says how long it ran, the load it ran under, and what
 * `log()` says it was doing.
 */
const command = async (
  file: string,
  args: ReadonlyArray<string>,
  cwd: string,
  timeout = HANG_MILLIS * 2,
  log: () => string = () => ""
) => {
  const started = Date.now()
  try {
    return await exec(file, args, { cwd, env: userEnv(), timeout, killSignal: "SIGKILL", maxBuffer: 16 * 2 ** 20 })
  } catch (error) {
    const { stdout, stderr, killed } = error as { stdout?: string; stderr?: string; killed?: boolean }
    const ran = `${((Date.now() - started) / 1000).toFixed(1)} s, load average ${loadavg()[0]!.toFixed(1)}`
    throw new Error(
      `${file} ${args.join(" ")} ${killed === true ? "hung (killed)" : "failed"} in ${cwd} after ${ran}:\n${stdout ?? ""}\n${stderr ?? ""}${log()}`,
      { cause: error }
    )
  }
}

/**
 * The last lines of npm's debug log in `dir` (one per step: each manifest and tarball it fetches, each package
 * it writes, with timings), for the message of an install that failed or hung.
 */
const npmLog = (dir: string) => (): string => {
  const logs = existsSync(dir) ? readdirSync(dir).filter((file) => file.endsWith("-debug-0.log")) : []
  const lines = logs.flatMap((file) => readFileSync(join(dir, file), "utf8").trimEnd().split("\n"))
  return `\nnpm's debug log, last lines (of ${lines.length}):\n${lines.slice(-40).join("\n")}`
}

// every wait in these tests has its own hang deadline with a report (`command`, support/child.ts); the tests'
// own timeout only bounds a test that hangs elsewhere
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 })

const packs = mkdtempSync(join(tmpdir(), "troupe-packs-"))
const project = mkdtempSync(join(tmpdir(), "troupe-consumer-"))

afterAll(() => {
  stopAll()
  rmSync(packs, { recursive: true, force: true })
  rmSync(project, { recursive: true, force: true })
})

/** What each publishable package's `prepack` runs: its build, without the type check (the suite does that). */
const prepack = "tsc -p tsconfig.build.json --noCheck"

beforeAll(async () => {
  // the six prepacks, as one tsc process: `tsc -b` over the same six tsconfig.build.json (--force: never
  // "up to date" from an earlier build's .tsbuildinfo); pnpm then packs without running them again. The
  // tarballs are byte-for-byte what `pnpm pack` with its prepacks gives (the order of dependencies in a
  // packed package.json aside, which pnpm varies from pack to pack); the first test checks that every
  // package's prepack is still this build
  await command(
    process.execPath,
    [
      join(root, "node_modules", "typescript", "bin", "tsc"),
      "-b",
      "--force",
      "--noCheck",
      ...publishable.map(({ dir }) => join(dir, "tsconfig.build.json"))
    ],
    root
  )
  const filters = publishable.flatMap(({ manifest }) => ["--filter", manifest.name])
  await command(
    "npx",
    ["-y", pnpm, "--config.ignore-scripts=true", "--recursive", ...filters, "pack", "--pack-destination", packs],
    root
  )
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify({ name: "my-backend", private: true, type: "module" }, null, 2)}\n`
  )
  for (const file of ["tsconfig.json", "program.ts", "agents.ts"])
    copyFileSync(join(fixtures, file), join(project, file))
  copyFileSync(join(root, "packages", "examples", "src", "readme", "backend.ts"), join(project, "backend.ts"))
  const tarballs = readdirSync(packs).map((file) => join(packs, file))
  const logs = join(packs, "npm-logs")
  await command(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      // what npm did, step by step, for the message of a failure
      "--timing",
      `--logs-dir=${logs}`,
      // a package already in npm's cache is taken from there without asking the registry again (a fresh
      // machine still fetches everything); a request the registry leaves unanswered is given up after 60 s
      // and sent again by npm (its default waits 5 minutes, longer than this install's hang deadline)
      "--prefer-offline",
      "--fetch-timeout=60000",
      ...tarballs,
      "effect@4.1.0",
      "typescript@7.0.2",
      "@types/node@24.19.2"
    ],
    project,
    HANG_MILLIS * 2,
    npmLog(logs)
  )
}, 900_000)

/** The installed `troupe` command, as `npx troupe` finds it (one npm start fewer per run; the version test uses npx). */
const troupe = join(project, "node_modules", ".bin", "troupe")

const node = (args: ReadonlyArray<string>, env?: NodeJS.ProcessEnv) =>
  start([...args], { cwd: project, env: userEnv(env) })

const succeeded = (exit: Exit) => {
  expect(exit.code, `${exit.stdout}\n${exit.stderr}`).toBe(0)
  return exit.stdout.split("\n")
}

describe("the packed and installed packages", () => {
  it("are JavaScript with declarations, outside the repository, with versions, engines and effect as a peer", () => {
    expect(project.startsWith(root)).toBe(false)
    expect(publishable.map(({ manifest }) => manifest.name)).toEqual(
      expect.arrayContaining([
        "@troupe/transport",
        "@troupe/choreography",
        "@troupe/runtime",
        "@troupe/llm",
        "@troupe/inspector",
        "@troupe/cli"
      ])
    )
    for (const { manifest } of publishable) {
      expect(manifest.scripts?.prepack, manifest.name).toBe(prepack)
      const installed = readManifest(join(project, "node_modules", manifest.name, "package.json"))
      expect(installed.version).toBe(manifest.version)
      expect(installed.engines?.node).toMatch(/^>=22/)
      expect(installed.peerDependencies).toMatchObject({ effect: expect.stringMatching(/^\^4\./) })
      expect(JSON.stringify(installed.dependencies ?? {})).not.toContain("workspace:")
      expect(installed.exports["."]).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" })
      const dist = readdirSync(join(project, "node_modules", manifest.name, "dist"))
      expect(dist).toEqual(expect.arrayContaining(["index.js", "index.js.map", "index.d.ts", "index.d.ts.map"]))
      expect(readdirSync(join(project, "node_modules", manifest.name))).toEqual(
        expect.arrayContaining(["CHANGELOG.md", "README.md", "LICENSE"])
      )
    }
    expect(readManifest(join(project, "node_modules", "@troupe", "cli", "package.json")).bin).toEqual({
      troupe: "./dist/bin.js"
    })
  })

  it.concurrent("typecheck a consumer file with the project's own tsc (its type errors included)", async () => {
    await command(process.execPath, [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", project], project)
  })

  it.concurrent("run the README's backend: one agent per conversation over real HTTP, and Ctrl-C stops it with exit code 0", async () => {
    const port = await freePort()
    const backend = node(["backend.ts"], { PORT: String(port) })
    await backend.line("POST a prompt to")
    const post = async (path: string, prompt: string) =>
      (await fetch(`http://localhost:${port}${path}`, { method: "POST", body: prompt })).text()
    expect(await post("/alice", "Hello")).toBe("That is message 1 of this chat.\n")
    expect(await post("/alice", "Again")).toBe("That is message 2 of this chat.\n")
    expect(await post("/bob", "Hi")).toBe("That is message 1 of this chat.\n")
    backend.process.kill("SIGINT")
    succeeded(await backend.exited())
  })

  it.concurrent("run an Effect program, and an agent spawned from the Promise API", async () => {
    const lines = succeeded(await node(["program.ts"]).exited())
    expect(lines).toContain("counter: 2; agent: It is 2.")
    expect(lines).toContain("promise agent: Promised.")
  })

  it.concurrent("give the `troupe` command, with the package's version", async () => {
    const { stdout } = await command("npx", ["troupe", "--version"], project)
    expect(stdout.trim()).toBe(`troupe v${readManifest(join(root, "packages", "cli", "package.json")).version}`)
  })

  it.concurrent("give the `troupe` command: protocol check on a module of the project", async () => {
    const { stdout } = await command(troupe, ["protocol", "check", "agents.ts"], project)
    expect(stdout.trim()).toBe("Greeting: well-formed (roles Host, Guest)")
  })

  it.concurrent("give the `troupe` command: a node hosting the module's agents, whose hook asks one and stops it", async () => {
    const { stdout } = await command(
      troupe,
      ["node", "--token", "a secret of sixteen characters or more", "--agents", "agents.ts"],
      project
    )
    const lines = stdout.split("\n")
    expect(lines).toContain("  agent /user/assistant (Agent)")
    expect(lines).toContain("assistant: Hello from an installed Troupe!")
    expect(lines.filter((line) => line !== "").at(-1)).toBe("stopped.")
  })
})
