/**
 * Runs nodes as child processes for multi-process tests: spawn them, send them commands, wait for
 * their events, kill or stop them. Every child is killed when the scope closes, whatever happened.
 *
 * The default child is `transport-node.ts`. Another script can be used if it speaks the same
 * protocol: the spec as JSON in `argv[2]`; JSON lines on stdout, starting with
 * `{ "event": "ready", "node", "incarnation", "url" }`; each command `{ "id", "cmd", ... }` read from
 * stdin answered by an event with the same `id` (`done`, `report` or `failed`); `stop` exits.
 */
import { type ChildProcess, spawn as spawnProcess } from "node:child_process"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import { Data, Effect, type Scope } from "effect"
import type { Command, Event, NodeSpec, Report } from "./transport-node.ts"

const SCRIPT = fileURLToPath(new URL("./transport-node.ts", import.meta.url))

/** A child failed a command or died while we waited for it. */
export class ChildFailed extends Data.TaggedError("ChildFailed")<{ readonly node: string; readonly detail: string }> {}

/** A command without its id (the harness numbers commands). */
export type Request<C extends { readonly id: number }> = C extends unknown ? Omit<C, "id"> : never

/** What every child script emits: `ready`, and an answer to each command by id. */
export type BaseEvent =
  | { readonly event: "ready"; readonly node: string; readonly incarnation: string; readonly url: string }
  | { readonly event: "failed"; readonly id: number; readonly error: string }
  | { readonly event: string; readonly id?: number }

export interface Child<E extends BaseEvent = Event, C extends { readonly id: number } = Command> {
  readonly name: string
  readonly incarnation: string
  /** The URL the node listens on. */
  readonly url: string
  readonly port: number
  /** Every event received so far. */
  readonly events: ReadonlyArray<E>
  /** Sends a command and waits for its completion. */
  readonly request: (command: Request<C>) => Effect.Effect<E, ChildFailed>
  readonly report: Effect.Effect<Report, ChildFailed>
  /** Waits for an event matching `predicate` (among those already received, or the next ones). */
  readonly waitFor: (predicate: (event: E) => boolean) => Effect.Effect<E, ChildFailed>
  /** SIGKILL: the node dies without a goodbye. */
  readonly kill: Effect.Effect<void>
  /** Graceful stop; returns the exit code. */
  readonly stop: Effect.Effect<number | null>
  /** What the node wrote to stderr (its logs), for failure messages. */
  readonly stderr: () => string
}

/** Starts a node process (running `script`) and waits until it listens. */
export const spawn = <E extends BaseEvent = Event, C extends { readonly id: number } = Command>(
  spec: NodeSpec,
  script: string = SCRIPT
): Effect.Effect<Child<E, C>, ChildFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const proc = yield* Effect.acquireRelease(
      Effect.sync(() => spawnProcess(process.execPath, [script, JSON.stringify(spec)], { stdio: "pipe" })),
      (p) => Effect.sync(() => p.exitCode === null && p.signalCode === null && p.kill("SIGKILL"))
    )
    const child = watch<E, C>(spec.node, proc)
    const ready = (yield* child.waitFor((event) => event.event === "ready")) as BaseEvent
    if (ready.event !== "ready" || !("url" in ready)) {
      return yield* new ChildFailed({ node: spec.node, detail: "no ready event" })
    }
    return { ...child, incarnation: ready.incarnation, url: ready.url, port: Number(new URL(ready.url).port) }
  })

const watch = <E extends BaseEvent, C extends { readonly id: number }>(
  name: string,
  proc: ChildProcess
): Omit<Child<E, C>, "incarnation" | "url" | "port"> => {
  const events: Array<E> = []
  const waiters = new Set<{ readonly predicate: (event: E) => boolean; readonly wake: (event?: E) => void }>()
  let stderr = ""
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined
  const exitWaiters: Array<() => void> = []
  proc.stderr!.on("data", (chunk) => {
    stderr += String(chunk)
  })
  Readline.createInterface({ input: proc.stdout! }).on("line", (line) => {
    const event = JSON.parse(line) as E
    events.push(event)
    for (const waiter of Array.from(waiters)) {
      if (waiter.predicate(event)) {
        waiters.delete(waiter)
        waiter.wake(event)
      }
    }
  })
  proc.on("exit", (code, signal) => {
    exited = { code, signal }
    for (const waiter of Array.from(waiters)) waiter.wake(undefined)
    waiters.clear()
    for (const wake of exitWaiters.splice(0)) wake()
  })
  const died = () =>
    new ChildFailed({ node: name, detail: `exited (${exited?.code ?? exited?.signal}): ${stderr.slice(-2000)}` })
  const waitFor = (predicate: (event: E) => boolean) =>
    Effect.callback<E, ChildFailed>((resume) => {
      const found = events.find(predicate)
      if (found !== undefined) return resume(Effect.succeed(found))
      if (exited !== undefined) return resume(Effect.fail(died()))
      const waiter = {
        predicate,
        wake: (event?: E) => resume(event === undefined ? Effect.fail(died()) : Effect.succeed(event))
      }
      waiters.add(waiter)
      return Effect.sync(() => waiters.delete(waiter))
    })
  const exit = Effect.callback<void>((resume) => {
    if (exited !== undefined) resume(Effect.void)
    else exitWaiters.push(() => resume(Effect.void))
  })
  let next = 0
  const request = (command: Request<C>) =>
    Effect.gen(function* () {
      const id = ++next
      proc.stdin!.write(`${JSON.stringify({ ...command, id })}\n`)
      const event = yield* waitFor((e) => "id" in e && e.id === id)
      if (event.event === "failed") {
        return yield* new ChildFailed({ node: name, detail: (event as { readonly error?: string }).error ?? "" })
      }
      return event
    })
  return {
    name,
    events,
    request,
    report: Effect.flatMap(request({ cmd: "report" } as unknown as Request<C>), (event) =>
      event.event === "report"
        ? Effect.succeed((event as unknown as { readonly report: Report }).report)
        : Effect.fail(new ChildFailed({ node: name, detail: "no report" }))
    ),
    waitFor,
    kill: Effect.andThen(
      Effect.sync(() => proc.kill("SIGKILL")),
      exit
    ),
    stop: Effect.gen(function* () {
      proc.stdin!.write(`${JSON.stringify({ cmd: "stop", id: ++next })}\n`)
      yield* exit
      return exited?.code ?? null
    }),
    stderr: () => stderr
  }
}
