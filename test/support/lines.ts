/**
 * A node script driven by JSON lines (see `node-process.ts`), for tests that kill it: send commands, read its
 * events as they come, and know when it died.
 */
import { join } from "node:path"
import * as Child from "./child.ts"

export interface Driven<E> {
  readonly child: Child.Child
  /** Every event printed so far. */
  readonly events: ReadonlyArray<E>
  send(command: object): void
  /** Waits until `predicate` holds for the events; answers false if the process exits or `timeoutMs` passes first. */
  until(predicate: (events: ReadonlyArray<E>) => boolean, timeoutMs?: number): Promise<boolean>
  kill(): Promise<void>
}

/** Starts `test/support/<script>` with a JSON config and waits for its `ready` event. */
export const start = async <E extends { readonly event: string }>(
  script: string,
  config: object,
  env?: NodeJS.ProcessEnv
): Promise<Driven<E>> => {
  const child = Child.start([join(import.meta.dirname, script), JSON.stringify(config)], {
    env: { ...Child.testEnv(), ...env }
  })
  const events: Array<E> = []
  let seen = 0
  const listeners = new Set<() => void>()
  const parse = () => {
    const lines = child.stdout().split("\n")
    for (; seen < lines.length - 1; seen++) {
      const line = lines[seen]!
      if (line.startsWith("{")) events.push(JSON.parse(line) as E)
    }
    for (const wake of listeners) wake()
  }
  child.process.stdout?.on("data", () => queueMicrotask(parse))
  child.exit.then(() => {
    parse()
    for (const wake of listeners) wake()
  })
  const exited = () => child.process.exitCode !== null || child.process.signalCode !== null
  const until = (predicate: (events: ReadonlyArray<E>) => boolean, timeoutMs = 60_000) =>
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (predicate(events)) return done(() => resolve(true))
        if (exited()) return done(() => resolve(false))
      }
      // a timeout answers false too: the test says what it expected, and can look at the events and stderr
      const timer = setTimeout(() => done(() => resolve(false)), timeoutMs)
      const done = (settle: () => void) => {
        clearTimeout(timer)
        listeners.delete(check)
        settle()
      }
      listeners.add(check)
      check()
    })
  const driven: Driven<E> = {
    child,
    events,
    send: (command) => {
      if (!exited()) child.process.stdin?.write(`${JSON.stringify(command)}\n`)
    },
    until,
    kill: async () => {
      if (!exited()) child.process.kill("SIGKILL")
      await child.exit
    }
  }
  child.process.stdin?.on("error", () => {})
  if (!(await until((es) => es.some((e) => e.event === "ready"), 60_000))) {
    throw new Error(`${script} exited before it was ready:\n${child.stderr()}`)
  }
  return driven
}

/** A small seeded random number generator (mulberry32), so that a failing run can be replayed. */
export const random = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
