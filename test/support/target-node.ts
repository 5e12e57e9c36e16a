/**
 * What the peer-trust tests share: a target node started as the README says (`TROUPE_TOKEN=… troupe node
 * --listen … --agents …`, a real child process), and a well-behaved peer in the test process that asks the
 * target's echo actor over and over and counts what succeeds and what fails.
 */
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { ActorSystem, Behavior } from "@troupe/runtime"
import { type Peer, Transport, WebSocket } from "@troupe/transport"
import { Cause, type Duration, Effect, Exit, Layer, Option, PubSub, References, Scope } from "effect"
import { Echo } from "../fixtures/cli/echo.ts"
import { type Child, start, testEnv } from "./child.ts"

const root = join(import.meta.dirname, "..", "..")
export const CLI = join(root, "packages", "cli", "src", "bin.ts")
export const fixture = (name: string) => join(import.meta.dirname, "..", "fixtures", "cli", name)

/** A fresh secret, as `openssl rand -hex 16` makes one. */
export const secret = () => randomBytes(16).toString("hex")

export interface Target {
  readonly child: Child
  readonly url: string
  readonly secret: string
  /** The node's resident memory in bytes (Linux). */
  readonly rss: () => number
  /** Warnings and errors the node logged (stderr lines with level=WARN or level=ERROR). */
  readonly warnings: () => ReadonlyArray<string>
}

/** Starts `troupe node --name target --listen 0 --agents <fixture>` with TROUPE_TOKEN set; waits until ready. */
export const startTarget = async (
  options: {
    readonly args?: ReadonlyArray<string>
    readonly secret?: string
    readonly name?: string
    /** The agents module, a fixture's file name (default echo-only.ts). */
    readonly agents?: string
    readonly env?: NodeJS.ProcessEnv
  } = {}
): Promise<Target> => {
  const token = options.secret ?? secret()
  const child = start(
    [
      CLI,
      "node",
      "--name",
      options.name ?? "target",
      "--listen",
      "0",
      "--agents",
      fixture(options.agents ?? "echo-only.ts"),
      ...(options.args ?? [])
    ],
    { cwd: root, env: { ...testEnv(), ...options.env, TROUPE_TOKEN: token } }
  )
  const url = /listening on (\S+)/.exec(await child.line("listening on"))![1]!
  await child.line("ready:")
  return {
    child,
    url,
    secret: token,
    rss: () => {
      const status = readFileSync(`/proc/${child.process.pid}/status`, "utf8")
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024
    },
    warnings: () =>
      child
        .stderr()
        .split("\n")
        .filter((line) => /level=(WARN|ERROR)/.test(line))
  }
}

export interface GoodPeer {
  readonly node: string
  readonly transport: Transport.Service
  /** Asks answered correctly, and asks that failed (with why). */
  readonly ok: () => number
  readonly failures: () => ReadonlyArray<string>
  /** Waits until `n` more asks succeeded. */
  readonly progress: (n: number) => Promise<void>
  /** Stops asking and shuts the peer down; returns the counts. */
  readonly stop: () => Promise<{ readonly ok: number; readonly failures: ReadonlyArray<string> }>
}

/**
 * A well-behaved peer: joins the target, then asks its echo actor in a loop (one ask at a time, each
 * with `askTimeout`), counting every answer and every failure.
 */
export const goodPeer = async (
  target: Pick<Target, "url" | "secret">,
  options: {
    readonly node?: string
    readonly askTimeout?: Duration.Input
    readonly tls?: WebSocket.Tls
    /** Where to dial the target (default its URL), e.g. through a proxy. */
    readonly url?: string
  } = {}
): Promise<GoodPeer> => {
  const node = options.node ?? "good"
  const scope = Effect.runSync(Scope.make())
  const quiet = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
    Effect.runPromise(
      effect.pipe(Scope.provide(scope), Effect.provideService(References.MinimumLogLevel, "Error"), Effect.orDie)
    )
  const transport = await quiet(
    WebSocket.make({
      node,
      secret: target.secret,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      heartbeatInterval: "200 millis"
    })
  )
  const system = await quiet(
    ActorSystem.make({
      name: node,
      askTimeout: options.askTimeout ?? "30 seconds",
      transport: Layer.succeed(Transport.Transport, transport)
    })
  )
  const peer = await Effect.runPromise(system.connect(options.url ?? target.url))
  const echo = await Effect.runPromise(system.lookup("/user/echo", Echo, { node: peer }))
  let ok = 0
  const failures: Array<string> = []
  let running = true
  const waiters = new Set<() => void>()
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const exit = await Effect.runPromiseExit(echo.ask(Echo.Echo({ text: `ask ${i}` })))
      if (Exit.isSuccess(exit) && exit.value === `${peer} echoes ask ${i}`) ok++
      else failures.push(Exit.isSuccess(exit) ? `wrong answer: ${exit.value}` : Cause.pretty(exit.cause))
      for (const wake of waiters) wake()
      // an ask that fails at once must not starve the event loop (microtasks only) when the node is gone
      if (!Exit.isSuccess(exit)) await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  return {
    node,
    transport,
    ok: () => ok,
    failures: () => failures,
    progress: (n) => {
      const goal = ok + n
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (ok >= goal) {
            waiters.delete(check)
            resolve()
          } else if (failures.length > 0) {
            waiters.delete(check)
            reject(new Error(`asks failed: ${failures.slice(0, 3).join("; ")}`))
          }
        }
        waiters.add(check)
        check()
      })
    },
    stop: async () => {
      running = false
      await loop
      await Effect.runPromise(Scope.close(scope, Exit.void))
      return { ok, failures }
    }
  }
}

export interface InProcessTarget {
  readonly url: string
  readonly secret: string
  readonly transport: Transport.Service
  /** Resolves when `node` is declared down, with why. */
  readonly down: (node: string) => Promise<Peer.PeerDown>
  readonly stop: () => Promise<void>
}

/**
 * A target node in the test process, hosting the same echo actor as the `troupe node` target, with the
 * transport options given (fast timings, small limits), so the mechanisms that take seconds with the
 * defaults are shown in a fraction of that.
 */
export const startInProcessTarget = async (options: WebSocket.Options): Promise<InProcessTarget> => {
  const token = secret()
  const scope = Effect.runSync(Scope.make())
  const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
    Effect.runPromise(
      effect.pipe(Scope.provide(scope), Effect.provideService(References.MinimumLogLevel, "Error"), Effect.orDie)
    )
  const transport = await run(
    WebSocket.make({ ...options, node: "target", secret: token, listen: { port: 0, host: "127.0.0.1" } })
  )
  const downs: Array<Peer.PeerDown> = []
  const waiters = new Set<() => void>()
  const events = await run(transport.subscribe)
  await run(
    Effect.forkScoped(
      Effect.forever(
        Effect.map(PubSub.take(events), (event) => {
          if (event._tag === "PeerDown") downs.push(event)
          for (const wake of waiters) wake()
        })
      )
    )
  )
  const system = await run(
    ActorSystem.make({ name: "target", transport: Layer.succeed(Transport.Transport, transport) })
  )
  await run(
    system.spawn(
      Behavior.make(Echo, {
        initial: null,
        receive: { Echo: (state, { text }) => Effect.succeed({ state, reply: `target echoes ${text}` }) }
      }),
      { name: "echo" }
    )
  )
  return {
    url: Option.getOrThrow(transport.address),
    secret: token,
    transport,
    down: (node) =>
      new Promise((resolve) => {
        const check = () => {
          const found = downs.find((event) => event.node === node)
          if (found !== undefined) {
            waiters.delete(check)
            resolve(found)
          }
        }
        waiters.add(check)
        check()
      }),
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
