/**
 * Child processes that print text, for tests of the CLI and the examples: start one, wait for a line,
 * send it a signal, wait for its exit. `stopAll` kills whatever is still running (call it after the tests).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { loadavg } from "node:os"

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
  /**
   * Waits until a line of stdout matches, and returns it; fails if the child exits first, or after `timeout`
   * ms (a hang: see {@link HANG_MILLIS}) with what it printed and when.
   */
  readonly line: (match: string | RegExp, timeout?: number) => Promise<string>
  /** The same for a line of stderr (where a node logs). */
  readonly errorLine: (match: string | RegExp, timeout?: number) => Promise<string>
  /** Resolves when the child has exited. */
  readonly exit: Promise<Exit>
  /** Waits for the exit; after `timeout` ms (a hang) kills the child and fails with what it printed and when. */
  readonly exited: (timeout?: number) => Promise<Exit>
}

/**
 * How long a test waits for a child's line or exit before it calls the child hung. Only a hang may fail a
 * wait: on a loaded 2-core machine a Node start alone can take many seconds, and a slow child is not a bug.
 * A failure says when each line came, so what was slow is in the message.
 */
export const HANG_MILLIS = 120_000

const running = new Set<ChildProcess>()

/** Starts `process.execPath` (the real Node binary, so that signals reach it) with these arguments. */
export const start = (
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}
): Child => {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env ?? testEnv(), stdio: "pipe" })
  running.add(child)
  const started = Date.now()
  let stdout = ""
  let stderr = ""
  // each line of stdout with the seconds since the start at which it came, for failure messages
  const timed: Array<string> = []
  let partial = ""
  const waiters = new Set<() => void>()
  child.stdout.on("data", (chunk) => {
    stdout += String(chunk)
    const parts = (partial + String(chunk)).split("\n")
    partial = parts.pop()!
    const at = seconds(Date.now() - started)
    for (const part of parts) timed.push(`[${at.padStart(6)} s] ${part}`)
    for (const wake of waiters) wake()
  })
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk)
    for (const wake of waiters) wake()
  })
  // closed: it exited and all it printed was read (a line may still come after its exit)
  let closed = false
  const exit = new Promise<Exit>((resolve) =>
    child.on("close", (code, signal) => {
      closed = true
      running.delete(child)
      resolve({ code, signal, stdout, stderr })
      for (const wake of waiters) wake()
    })
  )
  const report = (what: string, since: number) =>
    `${what}: waited ${seconds(Date.now() - since)} s, ${seconds(Date.now() - started)} s after the child started ` +
    `(load average ${loadavg()[0]!.toFixed(1)}): ${args.join(" ")}\n` +
    `stdout (seconds since its start):\n${[...timed, ...(partial === "" ? [] : [`(no newline yet) ${partial}`])].join("\n")}\n` +
    `stderr:\n${stderr}`
  const lineOf =
    (output: () => string) =>
    (match: string | RegExp, timeout = HANG_MILLIS) =>
      new Promise<string>((resolve, reject) => {
        const since = Date.now()
        const check = () => {
          const found = output()
            .split("\n")
            .find((l) => (typeof match === "string" ? l.includes(match) : match.test(l)))
          if (found !== undefined) done(() => resolve(found))
          else if (closed) {
            done(() => reject(new Error(report(`exited before printing ${match}`, since))))
          }
        }
        const timer = setTimeout(
          () => done(() => reject(new Error(report(`hung: no line ${match} within ${timeout} ms`, since)))),
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
  const exited = (timeout = HANG_MILLIS) => {
    const since = Date.now()
    let timer: ReturnType<typeof setTimeout> | undefined
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const message = report(`hung: no exit within ${timeout} ms (killed now)`, since)
        child.kill("SIGKILL")
        reject(new Error(message))
      }, timeout)
    })
    return Promise.race([exit, hung]).finally(() => clearTimeout(timer))
  }
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    line: lineOf(() => stdout),
    errorLine: lineOf(() => stderr),
    exit,
    exited
  }
}

const seconds = (millis: number) => (millis / 1000).toFixed(1)

/**
 * Runs to the end and returns what it printed and how it exited; `timeout` is the hang bound (longer only for a
 * child whose own work takes minutes).
 */
export const run = (
  args: ReadonlyArray<string>,
  options?: Parameters<typeof start>[1],
  timeout = HANG_MILLIS
): Promise<Exit> => start(args, options).exited(timeout)

/** Kills every child still running. */
export const stopAll = () => {
  for (const child of running) child.kill("SIGKILL")
}

/** The environment for children: this one without a real model's key, so that they use scripted models. */
export const testEnv = (): NodeJS.ProcessEnv => {
  const { OPENAI_API_KEY: _, TROUPE_TOKEN: __, ...env } = process.env
  return env
}

/** The ports `freePort` handed out in this process: it never hands one out twice. */
const handedOut = new Set<number>()

/**
 * A TCP port that was free a moment ago, below the kernel's ephemeral range (32768-60999 on Linux). A test gives it
 * to a node that starts seconds later: a port from `listen(0)` is in the ephemeral range, which every other
 * `listen(0)` of the concurrent test files draws from too, so one of their nodes could take it first (seen on CI:
 * a node dialled another file's node there and was refused for a wrong secret). Below that range only another
 * `freePort` could pick it: each vitest worker (`VITEST_POOL_ID`) draws from a slice of its own, and never the same
 * port twice (a port handed out earlier may be taken by a node that has not started yet: seen, EADDRINUSE).
 */
export const freePort = (): Promise<number> => {
  const slices = 4
  const width = Math.floor(12_768 / slices)
  const first = 20_000 + ((Number(process.env.VITEST_POOL_ID ?? 1) - 1) % slices) * width
  if (handedOut.size > width / 2) handedOut.clear() // (hundreds of ports a run: long gone by then)
  const attempt = (left: number): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      let port = first + Math.floor(Math.random() * width)
      while (handedOut.has(port)) port = first + Math.floor(Math.random() * width)
      const server = createServer()
      server.once("error", (error: NodeJS.ErrnoException) =>
        error.code === "EADDRINUSE" && left > 0 ? resolve(attempt(left - 1)) : reject(error)
      )
      server.listen(port, "127.0.0.1", () =>
        server.close(() => {
          handedOut.add(port)
          resolve(port)
        })
      )
    })
  return attempt(100)
}
