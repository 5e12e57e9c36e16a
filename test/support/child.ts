/**
 * Child processes that print text, for tests of the CLI and the examples: start one, wait for a line,
 * send it a signal, wait for its exit. `stopAll` kills whatever is still running (call it after the tests).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Child {
  readonly process: ChildProcess
  /** What it printed so far. */
  readonly stdout: () => string
  readonly stderr: () => string
  /** Waits until a line of stdout matches, and returns it; fails if the child exits first or after `timeout` ms. */
  readonly line: (match: string | RegExp, timeout?: number) => Promise<string>
  /** Resolves when the child has exited. */
  readonly exit: Promise<Exit>
}

const running = new Set<ChildProcess>()

/** Starts `process.execPath` (the real Node binary, so that signals reach it) with these arguments. */
export const start = (
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}
): Child => {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env ?? testEnv(), stdio: "pipe" })
  running.add(child)
  let stdout = ""
  let stderr = ""
  const waiters = new Set<() => void>()
  child.stdout.on("data", (chunk) => {
    stdout += String(chunk)
    for (const wake of waiters) wake()
  })
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk)
  })
  const exit = new Promise<Exit>((resolve) =>
    child.on("close", (code, signal) => {
      running.delete(child)
      resolve({ code, signal, stdout, stderr })
      for (const wake of waiters) wake()
    })
  )
  const line = (match: string | RegExp, timeout = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = stdout.split("\n").find((l) => (typeof match === "string" ? l.includes(match) : match.test(l)))
        if (found !== undefined) done(() => resolve(found))
        else if (child.exitCode !== null || child.signalCode !== null) {
          done(() => reject(new Error(`exited before printing ${match}:\n${stdout}\n${stderr}`)))
        }
      }
      const timer = setTimeout(
        () => done(() => reject(new Error(`no line ${match} within ${timeout} ms:\n${stdout}\n${stderr}`))),
        timeout
      )
      const done = (settle: () => void) => {
        clearTimeout(timer)
        waiters.delete(check)
        settle()
      }
      waiters.add(check)
      check()
    })
  return { process: child, stdout: () => stdout, stderr: () => stderr, line, exit }
}

/** Runs to the end and returns what it printed and how it exited. */
export const run = (args: ReadonlyArray<string>, options?: Parameters<typeof start>[1]): Promise<Exit> =>
  start(args, options).exit

/** Kills every child still running. */
export const stopAll = () => {
  for (const child of running) child.kill("SIGKILL")
}

/** The environment for children: this one without a real model's key, so that they use scripted models. */
export const testEnv = (): NodeJS.ProcessEnv => {
  const { OPENAI_API_KEY: _, TROUPE_TOKEN: __, ...env } = process.env
  return env
}

/** A TCP port that was free a moment ago. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })
