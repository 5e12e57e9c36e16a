/**
 * An agent team spread over three node processes, each started with the `troupe` CLI: a researcher and a
 * writer, each an LLM agent on its own node, and a coordinator whose agent asks them both over WebSocket.
 * This script starts the three nodes, shows what they print, and stops them when the coordinator is done.
 *
 * By hand, in three shells (from the repository's root):
 *
 *   pnpm troupe node --name researcher --listen 7101 --token team --agents packages/examples/src/team/researcher.ts
 *   pnpm troupe node --name writer --listen 7102 --token team --agents packages/examples/src/team/writer.ts
 *   pnpm troupe node --name coordinator --peer ws://127.0.0.1:7101 --peer ws://127.0.0.1:7102 --token team \
 *     --agents packages/examples/src/team/coordinator.ts
 *
 * Scripted models play the agents by default; with OPENAI_API_KEY set, every node uses the real model.
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples team`.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"

const cli = fileURLToPath(import.meta.resolve("@troupe/cli/bin"))
const token = randomBytes(16).toString("hex")

/** Starts `troupe node` with these flags; its lines are printed with its name in front. */
const node = (name: string, flags: ReadonlyArray<string>) => {
  const child = spawn(
    process.execPath,
    [
      cli,
      "node",
      "--name",
      name,
      "--token",
      token,
      "--agents",
      fileURLToPath(import.meta.resolve(`./${name}.ts`))
    ].concat(flags),
    { stdio: ["ignore", "pipe", "inherit"] }
  )
  let buffered = ""
  const listeners: Array<(line: string) => void> = []
  child.stdout.on("data", (chunk) => {
    buffered += String(chunk)
    const lines = buffered.split("\n")
    buffered = lines.pop()!
    for (const line of lines) {
      console.log(`[${name}] ${line}`)
      for (const listener of listeners) listener(line)
    }
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  /** The URL the node listens on, once it says so. */
  const url = new Promise<string>((resolve, reject) => {
    listeners.push((line) => {
      const match = /listening on (\S+)/.exec(line)
      if (match) resolve(match[1]!)
    })
    void exited.then((code) => reject(new Error(`${name} exited with code ${code} before listening`)))
  })
  url.catch(() => {}) // only awaited for the nodes that listen
  return { child, exited, url }
}

const researcher = node("researcher", ["--listen", "0"])
const writer = node("writer", ["--listen", "0"])
const peers = await Promise.all([researcher.url, writer.url])
const coordinator = node(
  "coordinator",
  peers.flatMap((url) => ["--peer", url])
)

const code = await coordinator.exited
for (const { child } of [researcher, writer]) child.kill("SIGINT") // Ctrl-C: a graceful stop
await Promise.all([researcher.exited, writer.exited])
process.exitCode = code ?? 1
