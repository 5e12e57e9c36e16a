/**
 * The healthy peer of the handshake stall tests (`test/node-stall-handshake.test.ts`), in a worker thread: its own
 * event loop runs while the test's node is stalled. One worker serves the file's tests one after another (a worker's
 * start, loading its modules, took most of a test's time: 0.6-4.5 s each at load 20): each test begins a role and
 * ends it. It either listens on an HTTP(S) server of its own whose upgrades it counts: at each upgrade (the handshake
 * about to begin) it posts `Accepted`, then pauses its own loop for `pauseMs`, so that what it answers next reaches a
 * test node already stalled; or it dials the test's node, directly or through a TCP proxy of its own whose connections
 * it counts, posting `Upstream` when the first bytes of the test's node pass (it accepted the connection and answered:
 * for TLS, its server hello).
 */

import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"
import { parentPort } from "node:worker_threads"
import { WebSocket } from "@troupe/transport"
import { Cause, Effect, Exit, References, Scope } from "effect"

/** A role: what the test gives the worker. */
export interface Options {
  readonly node: string
  readonly secret: string
  /** Mutual TLS: this node's certificate and key, and the authority that signs its peers'. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string }
  /** Listen (and pause this long at each upgrade), or dial this URL (through a proxy of its own, or not). */
  readonly role: { readonly listen: { readonly pauseMs: number } } | { readonly dial: string; readonly proxy?: boolean }
}

/** What the test asks: begin a role (once the previous one ended), count its connections, end it. */
export type Request =
  | { readonly _tag: "Begin"; readonly options: Options }
  | { readonly _tag: "Count" }
  | { readonly _tag: "End" }

/** What the worker posts. */
export type Message =
  /** Its modules are loaded (a start on a starved machine takes many seconds): it takes roles now. */
  | { readonly _tag: "Loaded" }
  | { readonly _tag: "Ready"; readonly url: string }
  | { readonly _tag: "Accepted" }
  | { readonly _tag: "Upstream" }
  | { readonly _tag: "Linked"; readonly peer: string }
  | { readonly _tag: "Failed"; readonly detail: string }
  /** The connections of the role seen to begin: upgrades accepted (listening), or carried by the proxy (dialing). */
  | { readonly _tag: "Count"; readonly count: number }
  /** The role ended: its transport, server and proxy are closed. */
  | { readonly _tag: "Ended" }

const post = (message: Message) => parentPort!.postMessage(message)

/** Blocks this thread's event loop. */
const busy = (ms: number) => {
  const end = Date.now() + ms
  while (Date.now() < end) {}
}

/** The role being played: its scope (its transport, server, proxy) and its connections so far. */
let current: { readonly scope: Scope.Closeable; count: number } | undefined

const begin = async (options: Options) => {
  const scope = Effect.runSync(Scope.make())
  const role = { scope, count: 0 }
  current = role
  const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
    Effect.runPromiseExit(effect.pipe(Scope.provide(scope), Effect.provideService(References.MinimumLogLevel, "Error")))
  const tls = options.tls === undefined ? {} : { tls: options.tls }
  const spec = options.role
  if ("listen" in spec) {
    const server =
      options.tls === undefined
        ? Http.createServer()
        : Https.createServer({ ...options.tls, requestCert: true, rejectUnauthorized: true })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    Effect.runSync(
      Scope.addFinalizer(
        scope,
        Effect.sync(() => server.close())
      )
    )
    const started = await run(
      WebSocket.make({ node: options.node, secret: options.secret, listen: { server }, ...tls })
    )
    if (Exit.isFailure(started)) throw Cause.squash(started.cause)
    // after the transport's own listener: the upgrade is done, and the handshake's connection exists
    server.on("upgrade", () => {
      role.count++
      post({ _tag: "Accepted" })
      busy(spec.listen.pauseMs)
    })
    const port = (server.address() as AddressInfo).port
    post({ _tag: "Ready", url: `${options.tls === undefined ? "ws" : "wss"}://127.0.0.1:${port}` })
  } else {
    const target = new URL(spec.dial)
    if (spec.proxy === true) {
      const port = Number(target.port)
      const proxy = Net.createServer((client) => {
        role.count++
        const upstream = Net.connect(port, target.hostname)
        upstream.once("data", () => post({ _tag: "Upstream" }))
        client.pipe(upstream).on("error", () => {})
        upstream.pipe(client).on("error", () => {})
        client.on("error", () => upstream.destroy())
        upstream.on("error", () => client.destroy())
      })
      await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))
      Effect.runSync(
        Scope.addFinalizer(
          scope,
          Effect.sync(() => proxy.close())
        )
      )
      target.port = `${(proxy.address() as AddressInfo).port}`
    }
    const linked = await run(
      Effect.gen(function* () {
        const transport = yield* WebSocket.make({ node: options.node, secret: options.secret, ...tls })
        return yield* transport.connect(target.href.replace(/\/$/, ""))
      })
    )
    // (a role ended before its dial returned stopped the dial: not a failure)
    if (Exit.isSuccess(linked)) post({ _tag: "Linked", peer: linked.value.node })
    else if (current === role) post({ _tag: "Failed", detail: Cause.pretty(linked.cause) })
  }
}

parentPort!.on("message", (request: Request) => {
  if (request._tag === "Begin")
    begin(request.options).catch((error: unknown) => post({ _tag: "Failed", detail: String(error) }))
  else if (request._tag === "Count") post({ _tag: "Count", count: current?.count ?? 0 })
  else {
    const ending = current
    current = undefined
    const closed = ending === undefined ? Promise.resolve() : Effect.runPromise(Scope.close(ending.scope, Exit.void))
    closed.then(
      () => post({ _tag: "Ended" }),
      (error: unknown) => post({ _tag: "Failed", detail: String(error) })
    )
  }
})
post({ _tag: "Loaded" })
