/**
 * A node that stalls in the middle of a handshake does not refuse the peer for its own pause (issue 9, scenario 9):
 * over real sockets on loopback, the test's node blocks its event loop (a synchronous busy loop) for longer than its
 * `handshakeTimeout` while its peer (a worker thread: its own event loop) answers in time. What the peer sent waits
 * in the socket; when the node wakes, its deadline timers are due before it reads the socket, and they must not
 * close the connection (4003) for a pause that was the node's own. The handshake completes on the first connection.
 *
 * Both ends (the listener stalls after the hello arrived; the dialer stalls after its hello went out), each with a
 * secret alone and with mutual TLS as well, and a listener on a port of its own stalled in the middle of the TLS
 * handshake (the HTTP upgrade's deadline). One worker plays the peer of every test, a role per test (its start was most
 * of each test's time).
 */
import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import { Worker } from "node:worker_threads"
import { assert, layer } from "@effect/vitest"
import { Peer, type Transport, WebSocket } from "@troupe/transport"
import { Context, Deferred, Effect, Layer, Option, PubSub, type Scope } from "effect"
import * as Certs from "./support/certs.ts"
import type * as StallPeer from "./support/stall-peer.ts"

const secret = "a handshake stall test secret"
/** The test node's handshake deadline, and its stall: well over it. */
const HANDSHAKE = "1 second"
const STALL_MS = 1_500
/**
 * A worker's start (loading its modules) bound: not what these tests measure, and on a starved machine (load 30+) it
 * took most of a 30 s limit (at load 46, over 60 s). Each test's steps have their own bounds (`within`).
 */
const WORKER_START_MS = 120_000
/** A test's limit: its steps. */
const TEST_MS = 60_000

/** Blocks the test's event loop. */
const busy = (ms: number) => {
  const end = Date.now() + ms
  while (Date.now() < end) {}
}

const ca = Certs.authority()
const issued = new Map<string, { readonly cert: string; readonly key: string; readonly ca: string }>()
/** `node`'s certificate, issued once for the file's tests. */
const pem = (node: string) => {
  let found = issued.get(node)
  if (found === undefined) {
    const pem = ca.issue(node)
    found = { cert: pem.cert, key: pem.key, ca: ca.cert }
    issued.set(node, found)
  }
  return found
}

/** The healthy peer's worker thread, shared by the file's tests: each begins a role on it (`PeerWorker.play`). */
class PeerWorker extends Context.Service<
  PeerWorker,
  { readonly play: (options: StallPeer.Options) => Effect.Effect<Role, never, Scope.Scope> }
>()("test/node-stall-handshake/PeerWorker") {
  /** Starts the worker, once its modules are loaded; terminates it with the layer. */
  static readonly layer = Layer.effect(
    PeerWorker,
    Effect.gen(function* () {
      const worker = yield* startWorker
      yield* worker.next("Loaded").pipe(
        Effect.timeoutOrElse({
          duration: WORKER_START_MS,
          orElse: () => Effect.die(new Error(`the peer's worker did not load in ${WORKER_START_MS} ms`))
        })
      )
      return PeerWorker.of({ play: worker.play })
    })
  )
}

/** A role the worker plays for one test; ended with the test's scope. */
interface Role {
  /** The first message of the role with this tag (a `Failed` one fails the test). */
  readonly next: <T extends StallPeer.Message["_tag"]>(
    tag: T
  ) => Effect.Effect<Extract<StallPeer.Message, { readonly _tag: T }>>
  /** How many connections the peer saw begin (upgrades it accepted, or connections its proxy carried). */
  readonly count: Effect.Effect<number>
}

const startWorker = Effect.acquireRelease(
  Effect.sync(() => {
    const worker = new Worker(new URL("./support/stall-peer.ts", import.meta.url))
    const messages: Array<StallPeer.Message> = []
    const waiters = new Set<() => void>()
    worker.on("message", (message: StallPeer.Message) => {
      messages.push(message)
      for (const wake of waiters) wake()
    })
    worker.on("error", (error) => {
      messages.push({ _tag: "Failed", detail: String(error) })
      for (const wake of waiters) wake()
    })
    /** The first message with this tag from index `from` on (a `Failed` one fails the test). */
    const next = <T extends StallPeer.Message["_tag"]>(tag: T, from = 0) =>
      Effect.callback<Extract<StallPeer.Message, { readonly _tag: T }>>((resume) => {
        const look = () => {
          const found = messages.slice(from).find((m) => m._tag === tag || m._tag === "Failed")
          if (found === undefined) return
          waiters.delete(look)
          if (found._tag === "Failed" && tag !== "Failed") resume(Effect.die(new Error(found.detail)))
          else resume(Effect.succeed(found as Extract<StallPeer.Message, { readonly _tag: T }>))
        }
        waiters.add(look)
        look()
        return Effect.sync(() => waiters.delete(look))
      })
    const ask = (request: StallPeer.Request) => worker.postMessage(request)
    /** Begins a role; ends it (its transport, server and proxy closed) when the scope closes. */
    const play = (options: StallPeer.Options) =>
      Effect.acquireRelease(
        Effect.sync((): Role => {
          const from = messages.length
          ask({ _tag: "Begin", options })
          return {
            next: (tag) => next(tag, from),
            count: Effect.suspend(() => {
              const asked = messages.length
              ask({ _tag: "Count" })
              return next("Count", asked)
            }).pipe(Effect.map((m) => m.count))
          }
        }),
        () =>
          Effect.suspend(() => {
            const from = messages.length
            ask({ _tag: "End" })
            return next("Ended", from)
          }).pipe(
            Effect.timeoutOrElse({
              duration: "20 seconds",
              orElse: () => Effect.die(new Error("the peer's role did not end in 20 s"))
            })
          )
      )
    return { worker, next, play }
  }),
  (worker) => Effect.promise(() => worker.worker.terminate())
)

/** A stalled node's settings: a short handshake deadline, and heartbeats often enough to see its stall. */
const stalledNode = (node: string, tls: ReturnType<typeof pem> | undefined) =>
  ({
    node,
    secret,
    handshakeTimeout: HANDSHAKE,
    heartbeatInterval: "100 millis",
    ...(tls === undefined ? {} : { tls })
  }) as const

/** The first `PeerUp` of `node` on `events`. */
const upOf = (events: PubSub.Subscription<Peer.PeerEvent>, node: string) =>
  Effect.gen(function* () {
    while (true) {
      const event = yield* PubSub.take(events)
      if (Peer.isPeerUp(event) && event.node === node) return event
    }
  })

const within = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die(new Error(`${what}: not in 20 s`)) })
  )

/**
 * The test's node listens on a server of the test's own and stalls right after an upgrade (in a listener that runs
 * after the transport's: the handshake's connection exists); the peer's hello arrives during the stall.
 */
const listenerStalls = (tls: boolean): Effect.Effect<void, unknown, Scope.Scope | PeerWorker> =>
  Effect.gen(function* () {
    const certificate = tls ? pem("listener") : undefined
    const server =
      certificate === undefined
        ? Http.createServer()
        : Https.createServer({ ...certificate, requestCert: true, rejectUnauthorized: true })
    yield* Effect.acquireRelease(
      Effect.callback<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () => Effect.sync(() => server.close())
    )
    const node: Transport.Service = yield* WebSocket.make({
      ...stalledNode("listener", certificate),
      listen: { server }
    })
    const events = yield* node.subscribe
    let upgrades = 0
    server.on("upgrade", () => {
      if (++upgrades === 1) busy(STALL_MS)
    })
    const port = (server.address() as AddressInfo).port
    yield* PeerWorker.use((worker) =>
      worker.play({
        node: "peer",
        secret,
        ...(tls ? { tls: pem("peer") } : {}),
        role: { dial: `${tls ? "wss" : "ws"}://127.0.0.1:${port}` }
      })
    )
    yield* within("the listener's link to the peer", upOf(events, "peer"))
    // the stalled listener did not close the first connection: the peer never had to dial again
    assert.strictEqual(upgrades, 1)
    assert.strictEqual((yield* node.stats).refused, 0)
  })

/**
 * The test's node dials the peer and stalls once the peer accepted the upgrade; the peer pauses a little itself
 * first, so its challenge arrives during the stall.
 */
const dialerStalls = (tls: boolean): Effect.Effect<void, unknown, Scope.Scope | PeerWorker> =>
  Effect.gen(function* () {
    const peer = yield* PeerWorker.use((worker) =>
      worker.play({
        node: "peer",
        secret,
        ...(tls ? { tls: pem("peer") } : {}),
        role: { listen: { pauseMs: 300 } }
      })
    )
    const { url } = yield* peer.next("Ready")
    const node = yield* WebSocket.make(stalledNode("dialer", tls ? pem("dialer") : undefined))
    const linked = yield* Deferred.make<Peer.Peer, unknown>()
    yield* Effect.forkScoped(Deferred.into(node.connect(url), linked))
    yield* within("the peer's upgrade", peer.next("Accepted"))
    busy(STALL_MS)
    const reached = yield* within("the dialer's link to the peer", Deferred.await(linked))
    assert.strictEqual(reached.node, "peer")
    assert.strictEqual(yield* peer.count, 1)
  })

/**
 * The test's node listens on a port of its own with mutual TLS, and stalls once it answered the peer's TLS hello (the
 * peer dials through a proxy that says when): the rest of the TLS handshake and the HTTP upgrade arrive during the
 * stall, and the upgrade's deadline must not close the connection.
 */
const tlsListenerStalls: Effect.Effect<void, unknown, Scope.Scope | PeerWorker> = Effect.gen(function* () {
  const node = yield* WebSocket.make({ ...stalledNode("listener", pem("listener")), listen: { port: 0 } })
  const events = yield* node.subscribe
  const url = Option.getOrThrow(node.address)
  const peer = yield* PeerWorker.use((worker) =>
    worker.play({ node: "peer", secret, tls: pem("peer"), role: { dial: url, proxy: true } })
  )
  yield* within("the listener's answer to the TLS hello", peer.next("Upstream"))
  busy(STALL_MS)
  yield* within("the listener's link to the peer", upOf(events, "peer"))
  assert.strictEqual(yield* peer.count, 1)
  assert.strictEqual((yield* node.stats).refused, 0)
})

layer(PeerWorker.layer, { excludeTestServices: true, timeout: WORKER_START_MS })(
  "a node stalled during a handshake",
  (it) => {
    it.effect(
      "listening, with a secret: completes the handshake whose hello arrived during its stall",
      () => listenerStalls(false),
      TEST_MS
    )

    it.effect(
      "listening, with mutual TLS and a secret: completes the handshake whose hello arrived during its stall",
      () => listenerStalls(true),
      TEST_MS
    )

    it.effect(
      "listening on a port of its own, with mutual TLS: completes the TLS handshake and upgrade of its stall",
      () => tlsListenerStalls,
      TEST_MS
    )

    it.effect(
      "dialing, with a secret: completes the handshake whose challenge arrived during its stall",
      () => dialerStalls(false),
      TEST_MS
    )

    it.effect(
      "dialing, with mutual TLS and a secret: completes the handshake whose challenge arrived during its stall",
      () => dialerStalls(true),
      TEST_MS
    )
  }
)
