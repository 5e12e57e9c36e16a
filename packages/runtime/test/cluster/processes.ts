/**
 * Runner processes for the multi-runner tests: a runner script serves its layer until SIGTERM ({@link serve}),
 * and a test starts one on a free port and waits for it to be ready ({@link startRunner}), its output in a log
 * file and each line of it handed to the test.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createWriteStream } from "node:fs"
import { join } from "node:path"
import * as Readline from "node:readline"
import { ActorSystem, Introspection } from "@troupe/runtime"
import { Effect, type Layer, Option } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as Postgres from "../durable/postgres.ts"
import * as FiberDump from "./fiberDump.ts"

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
  const port = await Postgres.freePort()
  // TROUPE_RUNNER_NODE_ARGS: options for the runners' node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/profiles`)
  const nodeArgs = (process.env.TROUPE_RUNNER_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "")
  const child = spawn(process.execPath, [...nodeArgs, script, url, String(port), name], {
    stdio: ["ignore", "pipe", "pipe"]
  })
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

/**
 * `promise`, or a failure naming `what` the test waited for when it is not settled within `millis` (a test's every
 * wait has a deadline: a hang fails the test, saying where, instead of running into the suite's timeout).
 *
 * @example
 * expect(await within(old.exited, 180_000, `the graceful stop of ${old.name}`)).toBe(0)
 */
export const within = <A>(promise: Promise<A>, millis: number, what: string): Promise<A> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${millis / 1000} s for ${what}`)), millis)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/**
 * In a runner script: builds `layer`, prints `ready`, and on SIGTERM stops gracefully and prints `stopped`. On
 * SIGUSR2, and every 20 s of a stop, it prints what it waits on (see {@link dumpLines}).
 */
export const serve = async <A, E>(layer: Layer.Layer<A, E>, name: string | undefined): Promise<never> => {
  FiberDump.track()
  const program = Effect.gen(function* () {
    const system = Option.getOrUndefined(yield* Effect.serviceOption(ActorSystem.ActorSystem))
    const dump = (why: string) => {
      for (const line of dumpLines(system)) console.log(JSON.stringify({ event: "dump", why, line }))
    }
    process.on("SIGUSR2", () => dump("SIGUSR2"))
    yield* Effect.forkScoped(lateness)
    yield* Effect.sync(() => console.log(JSON.stringify({ event: "ready", name, pid: process.pid })))
    yield* Effect.callback<void>((resume) => {
      process.once("SIGTERM", () => {
        stopping(dump)
        resume(Effect.void)
      })
    })
  })
  await Effect.runPromise(Effect.scoped(Effect.provide(program, layer)) as Effect.Effect<void>)
  console.log(JSON.stringify({ event: "stopped", name }))
  process.exit(0)
}

/**
 * Stalls, in the runner's log: the event loop's (a 250 ms timer that fires late, with the process's CPU time since
 * the timer's last turn) and the Effect fibers' (a fiber's 250 ms sleep that ends late: the loop's stall plus the
 * fibers ready to run before it), each one over a second.
 */
const lateness = Effect.gen(function* () {
  const TICK = 250
  let expected = Date.now() + TICK
  let cpu = process.cpuUsage()
  const timer = setInterval(() => {
    const late = Date.now() - expected
    // the process's CPU time meanwhile: near the stall, one long task; far less, a CPU it waited for
    const used = process.cpuUsage(cpu)
    if (late > 1_000)
      console.log(
        JSON.stringify({
          event: "loop late",
          t: stamp(),
          ms: late,
          cpuMs: Math.round((used.user + used.system) / 1000)
        })
      )
    expected = Date.now() + TICK
    cpu = process.cpuUsage()
  }, TICK)
  timer.unref()
  yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(timer)))
  for (;;) {
    const before = Date.now()
    yield* Effect.sleep(TICK)
    const late = Date.now() - before - TICK
    if (late > 1_000) console.log(JSON.stringify({ event: "fibers late", t: stamp(), ms: late }))
  }
})

const stamp = () => new Date().toISOString().slice(11, 23)

/**
 * What the process waits on: its actors that are not idle (path, status, mailbox) and its live Effect fibers (see
 * `fiberDump.ts`).
 */
const dumpLines = (system: ActorSystem.ActorSystemService | undefined): Array<string> => {
  const actors = system === undefined ? [] : Effect.runSync(Introspection.actors(system))
  return [
    `actors: ${actors.length}`,
    ...actors
      .filter((a) => a.status !== "idle" || a.mailbox > 0)
      .map((a) => `actor ${a.path} ${a.status} mailbox ${a.mailbox} stashed ${a.stashed}`),
    ...FiberDump.dump()
  ]
}

/**
 * A graceful stop began: said in the log, and every 20 s while it lasts, with the kinds of resources the process
 * still holds and `dump()` (a stop that hangs shows where it waits).
 */
const stopping = (dump: (why: string) => void) => {
  const since = Date.now()
  const line = (event: string) =>
    console.log(
      JSON.stringify({
        event,
        t: new Date().toISOString().slice(11, 23),
        ms: Date.now() - since,
        resources: process.getActiveResourcesInfo()
      })
    )
  line("stopping")
  setInterval(() => {
    line("still stopping")
    dump("still stopping")
  }, 20_000).unref()
}

/**
 * For a suite of multi-runner tests: a PostgreSQL server started before its tests; the runner processes they
 * push to `runners` are killed, and the server stopped, after them. `url()` is the server's database URL.
 */
export const postgresAndRunners = () => {
  let server: Postgres.Postgres | undefined
  const runners: Array<Runner> = []
  beforeAll(async () => {
    server = await Postgres.start()
  }, 60_000)
  afterAll(async () => {
    for (const r of runners) r.child.kill("SIGKILL")
    await Promise.all(runners.map((r) => r.exited))
    await server?.stop()
  }, 60_000)
  const url = (): string => {
    if (server === undefined) throw new Error("the PostgreSQL server is not started (call url() inside a test)")
    return server.url
  }
  return { runners, url }
}
