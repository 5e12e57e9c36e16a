/**
 * What the peer-trust tests share: a target node started as the README says (`TROUPE_TOKEN=… troupe node
 * --listen … --agents …`, a real child process), and a well-behaved peer in the test process that asks the
 * target's echo actor over and over and counts what succeeds and what fails.
 */
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import { ActorSystem, Behavior } from "@troupe/runtime"
import { type Peer, Transport, WebSocket } from "@troupe/transport"
import { type Duration, Effect, Exit, Layer, Option, PubSub, References, Scope } from "effect"
import { Echo } from "../fixtures/cli/echo-protocol.ts"
import { type Child, start, testEnv } from "./child.ts"
import type * as GoodPeerWorker from "./good-peer.ts"

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
  /** Its incarnation (what a thief could read off the wire). */
  readonly incarnation: string
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
 * with `askTimeout`), counting every answer and every failure. It runs in a worker thread (`good-peer.ts`
 * says why).
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
  const worker = new Worker(new URL("./good-peer.ts", import.meta.url), {
    workerData: {
      node,
      url: options.url ?? target.url,
      secret: target.secret,
      askTimeout: options.askTimeout ?? "30 seconds",
      ...(options.tls === undefined ? {} : { tls: options.tls })
    } satisfies GoodPeerWorker.Options
  })
  let ok = 0
  const failures: Array<string> = []
  const waiters = new Set<() => void>()
  let stopped: () => void = () => {}
  const incarnation = await new Promise<string>((resolve, reject) => {
    worker.once("error", reject)
    worker.once("exit", (code) => reject(new Error(`the good peer's worker exited (${code}) before it joined`)))
    worker.on("message", (message: GoodPeerWorker.Message) => {
      switch (message._tag) {
        case "Ready":
          return resolve(message.incarnation)
        case "Answered":
          ok++
          break
        case "Failed":
          failures.push(message.detail)
          break
        case "Stopped":
          return stopped()
      }
      for (const wake of waiters) wake()
    })
  })
  return {
    node,
    incarnation,
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
      await new Promise<void>((resolve) => {
        stopped = resolve
        worker.postMessage("stop")
      })
      await worker.terminate()
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
