/**
 * Runner processes for the multi-runner tests: a runner script serves its layer until SIGTERM ({@link serve}),
 * and a test starts one on a free port and waits for it to be ready ({@link startRunner}), its output in a log
 * file and each line of it handed to the test.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createWriteStream } from "node:fs"
import { join } from "node:path"
import * as Readline from "node:readline"
import { Effect, type Layer } from "effect"
import { freePort } from "../durable/postgres.ts"

export interface Runner {
  readonly name: string
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
}

/**
 * Starts `script <url> <port> <name>` and waits for its `ready` line; its output goes to `<logs>/<name>.log`, and
 * each line to `onLine`.
 */
export const startRunner = async (
  script: string,
  url: string,
  name: string,
  logs: string,
  onLine: (line: string) => void = () => {}
): Promise<Runner> => {
  const port = await freePort()
  const child = spawn(process.execPath, [script, url, String(port), name], { stdio: ["ignore", "pipe", "pipe"] })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const log = createWriteStream(join(logs, `${name}.log`))
  child.stdout!.pipe(log)
  child.stderr!.pipe(log)
  await new Promise<void>((resolve, reject) => {
    Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.includes('"event":"ready"')) resolve()
      onLine(line)
    })
    void exited.then((code) => reject(new Error(`runner ${name} exited with ${code} before it was ready`)))
  })
  return { name, child, exited }
}

/** In a runner script: builds `layer`, prints `ready`, and on SIGTERM stops gracefully and prints `stopped`. */
export const serve = async <A, E>(layer: Layer.Layer<A, E>, name: string | undefined): Promise<never> => {
  const program = Effect.gen(function* () {
    yield* Effect.sync(() => console.log(JSON.stringify({ event: "ready", name, pid: process.pid })))
    yield* Effect.callback<void>((resume) => {
      process.once("SIGTERM", () => resume(Effect.void))
    })
  })
  await Effect.runPromise(Effect.scoped(Effect.provide(program, layer)) as Effect.Effect<void>)
  console.log(JSON.stringify({ event: "stopped", name }))
  process.exit(0)
}
