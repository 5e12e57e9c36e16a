/**
 * What the peer-trust tests share: a target node started as the README says (`TROUPE_TOKEN=… troupe node
 * --listen … --agents …`, a real child process) or one with scaled-down timings in a worker thread, and a
 * well-behaved peer in a worker thread that asks the target's echo actor over and over and counts what succeeds
 * and what fails.
 */
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import type { WebSocket } from "@troupe/transport"
import type { Duration } from "effect"
import { type Child, start, testEnv } from "./child.ts"
import type * as GoodPeerWorker from "./good-peer.ts"
import type * as TargetThreadWorker from "./target-thread.ts"

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
    // the NODE_OPTIONS of process.env (the bundle's preload: bundle.ts) apply to a thread only when it is given
    env: process.env,
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

export interface TargetThread {
  readonly url: string
  readonly secret: string
  /** Resolves when `node` is declared down, with why. */
  readonly down: (node: string) => Promise<{ readonly reason: string }>
  /** The peers it links with now. */
  readonly links: () => Promise<number>
  readonly stop: () => Promise<void>
}

/**
 * A target node in a worker thread (`target-thread.ts` says why), hosting the same echo actor as the `troupe node`
 * target, with timings and limits scaled down, so the mechanisms that take seconds with the defaults are shown in
 * a fraction of that.
 */
export const startTargetThread = async (options: Omit<TargetThreadWorker.Options, "secret">): Promise<TargetThread> => {
  const token = secret()
  const worker = new Worker(new URL("./target-thread.ts", import.meta.url), {
    env: process.env,
    workerData: { ...options, secret: token } satisfies TargetThreadWorker.Options
  })
  const downs: Array<{ readonly node: string; readonly reason: string }> = []
  const waiters = new Set<(message: TargetThreadWorker.Message) => void>()
  const url = await new Promise<string>((resolve, reject) => {
    worker.once("error", reject)
    worker.once("exit", (code) => reject(new Error(`the target's worker exited (${code}) before it listened`)))
    worker.on("message", (message: TargetThreadWorker.Message) => {
      if (message._tag === "Ready") resolve(message.url)
      if (message._tag === "Down") downs.push(message)
      for (const wake of waiters) wake(message)
    })
  })
  /** Resolves with the first message (or down event so far) that `pick` takes. */
  const when = <A>(pick: (message: TargetThreadWorker.Message) => A | undefined, now?: () => A | undefined) =>
    new Promise<A>((resolve) => {
      const found = now?.()
      if (found !== undefined) return resolve(found)
      const wake = (message: TargetThreadWorker.Message) => {
        const picked = pick(message)
        if (picked === undefined) return
        waiters.delete(wake)
        resolve(picked)
      }
      waiters.add(wake)
    })
  let asked = 0
  return {
    url,
    secret: token,
    down: (node) =>
      when(
        (message) => (message._tag === "Down" && message.node === node ? message : undefined),
        () => downs.find((down) => down.node === node)
      ),
    links: () => {
      const id = ++asked
      const answer = when((message) => (message._tag === "Links" && message.id === id ? message.count : undefined))
      worker.postMessage({ _tag: "Links", id } satisfies TargetThreadWorker.Request)
      return answer
    },
    stop: async () => {
      const stopped = when((message) => (message._tag === "Stopped" ? true : undefined))
      worker.postMessage({ _tag: "Stop" } satisfies TargetThreadWorker.Request)
      await stopped
      await worker.terminate()
    }
  }
}
