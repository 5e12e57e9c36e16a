/**
 * The healthy peer of the handshake stall tests (`test/node-stall-handshake.test.ts`), in a worker thread: its own
 * event loop runs while the test's node is stalled. It either listens on an HTTP(S) server of its own whose upgrades
 * it counts: at each upgrade (the handshake about to begin) it posts `Accepted`, then pauses its own loop for
 * `pauseMs`, so that what it answers next reaches a test node already stalled; or it dials the test's node, directly
 * or through a TCP proxy of its own whose connections it counts, posting `Upstream` when the first bytes of the test's
 * node pass (it accepted the connection and answered: for TLS, its server hello).
 */

import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"
import { parentPort, workerData } from "node:worker_threads"
import { WebSocket } from "@troupe/transport"
import { Cause, Effect, Exit, References, Scope } from "effect"

/** What the test gives the worker. */
export interface Options {
  readonly node: string
  readonly secret: string
  /** Mutual TLS: this node's certificate and key, and the authority that signs its peers'. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string }
  /** Listen (and pause this long at each upgrade), or dial this URL (through a proxy of its own, or not). */
  readonly role: { readonly listen: { readonly pauseMs: number } } | { readonly dial: string; readonly proxy?: boolean }
}

/** What the test asks. */
export type Request = { readonly _tag: "Count" } | { readonly _tag: "Stop" }

/** What the worker posts. */
export type Message =
  /** Its modules are loaded (a start on a starved machine takes many seconds): it begins its role now. */
  | { readonly _tag: "Loaded" }
  | { readonly _tag: "Ready"; readonly url: string }
  | { readonly _tag: "Accepted" }
  | { readonly _tag: "Upstream" }
  | { readonly _tag: "Linked"; readonly peer: string }
  | { readonly _tag: "Failed"; readonly detail: string }
  /** The connections seen to begin: upgrades accepted (listening), or carried by the proxy (dialing). */
  | { readonly _tag: "Count"; readonly count: number }
  | { readonly _tag: "Stopped" }

const options = workerData as Options
const post = (message: Message) => parentPort!.postMessage(message)
post({ _tag: "Loaded" })
const scope = Effect.runSync(Scope.make())
const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromiseExit(effect.pipe(Scope.provide(scope), Effect.provideService(References.MinimumLogLevel, "Error")))

/** Blocks this thread's event loop. */
const busy = (ms: number) => {
  const end = Date.now() + ms
  while (Date.now() < end) {}
}

const tls = options.tls === undefined ? {} : { tls: options.tls }
let count = 0
const role = options.role
if ("listen" in role) {
  const server =
    options.tls === undefined
      ? Http.createServer()
      : Https.createServer({ ...options.tls, requestCert: true, rejectUnauthorized: true })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const started = await run(WebSocket.make({ node: options.node, secret: options.secret, listen: { server }, ...tls }))
  if (Exit.isFailure(started)) throw Cause.squash(started.cause)
  // after the transport's own listener: the upgrade is done, and the handshake's connection exists
  server.on("upgrade", () => {
    count++
    post({ _tag: "Accepted" })
    busy(role.listen.pauseMs)
  })
  const port = (server.address() as AddressInfo).port
  post({ _tag: "Ready", url: `${options.tls === undefined ? "ws" : "wss"}://127.0.0.1:${port}` })
  Effect.runFork(
    Scope.addFinalizer(
      scope,
      Effect.sync(() => server.close())
    )
  )
} else {
  const target = new URL(role.dial)
  if (role.proxy === true) {
    const port = Number(target.port)
    const proxy = Net.createServer((client) => {
      count++
      const upstream = Net.connect(port, target.hostname)
      upstream.once("data", () => post({ _tag: "Upstream" }))
      client.pipe(upstream).on("error", () => {})
      upstream.pipe(client).on("error", () => {})
      client.on("error", () => upstream.destroy())
      upstream.on("error", () => client.destroy())
    })
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))
    target.port = `${(proxy.address() as AddressInfo).port}`
    Effect.runFork(
      Scope.addFinalizer(
        scope,
        Effect.sync(() => proxy.close())
      )
    )
  }
  const linked = await run(
    Effect.gen(function* () {
      const transport = yield* WebSocket.make({ node: options.node, secret: options.secret, ...tls })
      return yield* transport.connect(target.href.replace(/\/$/, ""))
    })
  )
  post(
    Exit.isSuccess(linked)
      ? { _tag: "Linked", peer: linked.value.node }
      : { _tag: "Failed", detail: Cause.pretty(linked.cause) }
  )
}

parentPort!.on("message", async (request: Request) => {
  if (request._tag === "Count") post({ _tag: "Count", count })
  else {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    post({ _tag: "Stopped" })
    parentPort!.close()
  }
})
