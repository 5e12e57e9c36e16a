/**
 * What the shared behaviour suite needs from a transport, implemented for both: start nodes, join
 * them, and break the network between them. The in-process harness uses the network's fault
 * injection; the WebSocket harness puts a TCP proxy in front of every node and breaks real sockets.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Exit, PubSub, References, Scope } from "effect"
import * as TcpProxy from "../../../../test/support/tcp-proxy.ts"
import { InProcess, type Peer, type Transport, WebSocket } from "../../src/index.ts"

export interface Node {
  readonly name: string
  readonly transport: Transport.Service
  /** Closes the node's scope (a graceful shutdown). */
  readonly stop: Effect.Effect<void>
}

export interface Harness {
  readonly kind: "in-process" | "websocket"
  /** Starts a node named `name` (its node id) with the suite's fast timings plus `options`. */
  readonly node: (name: string, options?: Transport.Options) => Effect.Effect<Node, never, Scope.Scope>
  /** `from` joins `to` (and waits for the link). */
  readonly connect: (from: Node, to: Node) => Effect.Effect<Peer.Peer, unknown>
  /** Breaks the connections between two nodes; they reconnect. */
  readonly drop: (a: Node, b: Node) => Effect.Effect<void>
  /** Cuts two nodes off from each other until `heal`. */
  readonly partition: (a: Node, b: Node) => Effect.Effect<void>
  readonly heal: Effect.Effect<void>
  /**
   * Kills a node without a goodbye and starts a new incarnation with the same id, reachable where
   * the old one was. Only nodes that others dialed (and that dial no one) can be restarted this way.
   */
  readonly restart: (node: Node, options?: Transport.Options) => Effect.Effect<Node, never, Scope.Scope>
}

/** Fast timings so failures are detected in well under a second. */
export const fast: Transport.Options = {
  secret: "a test secret of the suite",
  heartbeatInterval: "50 millis",
  failureDetector: { _tag: "Timeout", timeout: "600 millis" },
  reconnect: { initialDelay: "20 millis", maxDelay: "200 millis" },
  shutdownTimeout: "300 millis"
}

const merge = (options?: Transport.Options): Transport.Options => ({ ...fast, ...options })

/** Runs `make` in a child scope that `stop` closes. */
const scoped = <E>(
  name: string,
  make: Effect.Effect<Transport.Service, E, Scope.Scope>
): Effect.Effect<Node, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Scope.fork(yield* Effect.scope)
    // quiet: the suite asserts behaviour, and the transport logs every link up and down
    const transport = yield* make.pipe(
      Scope.provide(scope),
      Effect.provideService(References.MinimumLogLevel, "Error"),
      Effect.orDie
    )
    return { name, transport, stop: Scope.close(scope, Exit.void) }
  })

export const inProcess = (): Harness => {
  const network = InProcess.makeNetwork()
  return {
    kind: "in-process",
    node: (name, options) => scoped(name, InProcess.make(network, { ...merge(options), node: name })),
    connect: (from, to) => from.transport.connect(to.name),
    drop: (a, b) => network.drop(a.name, b.name),
    partition: (a, b) => network.partition([a.name], [b.name]),
    heal: network.heal,
    restart: (node, options) =>
      Effect.gen(function* () {
        yield* network.crash(node.name)
        return yield* scoped(node.name, InProcess.make(network, { ...merge(options), node: node.name }))
      })
  }
}

/** An HTTP server on a free loopback port, closed with the scope. */
const listening = Effect.acquireRelease(
  Effect.callback<Http.Server>((resume) => {
    const server = Http.createServer()
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.callback<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

export const webSocket = (): Harness => {
  const proxies = new Map<string, TcpProxy.TcpProxy>()
  const proxyOf = (node: Node) => proxies.get(node.name)!
  /** Starts a node on its own HTTP server; it announces its proxy's URL, so members reach it only through it. */
  const start = (name: string, proxy: TcpProxy.TcpProxy, options?: Transport.Options) =>
    Effect.gen(function* () {
      const server = yield* listening
      const node = yield* scoped(
        name,
        WebSocket.make({ ...merge(options), node: name, listen: { server }, advertisedUrl: proxy.url })
      )
      proxy.retarget((server.address() as AddressInfo).port)
      return node
    })
  return {
    kind: "websocket",
    node: (name, options) =>
      Effect.gen(function* () {
        const proxy = yield* TcpProxy.make(1)
        proxies.set(name, proxy)
        return yield* start(name, proxy, options)
      }),
    connect: (from, to) => from.transport.connect(proxyOf(to).url),
    drop: (a, b) =>
      Effect.sync(() => {
        proxyOf(a).dropAll()
        proxyOf(b).dropAll()
      }),
    partition: (a, b) =>
      Effect.sync(() => {
        proxyOf(a).block()
        proxyOf(b).block()
      }),
    heal: Effect.sync(() => {
      for (const proxy of proxies.values()) proxy.unblock()
    }),
    restart: (node, options) =>
      Effect.gen(function* () {
        const proxy = proxyOf(node)
        proxy.block() // the old incarnation is cut off for good: from now on the proxy leads to the new one
        const next = yield* start(node.name, proxy, options)
        proxy.unblock()
        return next
      })
  }
}

/**
 * Two nodes, `a` and `b`, each subscribed to its peer events before they link.
 *
 * @example
 * const { a, b, eventsA } = yield* watchedPair(inProcess())
 */
export const watchedPair = (h: Harness) =>
  Effect.gen(function* () {
    const a = yield* h.node("a")
    const b = yield* h.node("b")
    return { a, b, eventsA: yield* a.transport.subscribe, eventsB: yield* b.transport.subscribe }
  })

/** Takes peer events until one matches. */
export const awaitEvent = <A extends Peer.PeerEvent>(
  subscription: PubSub.Subscription<Peer.PeerEvent>,
  predicate: (event: Peer.PeerEvent) => event is A
): Effect.Effect<A> =>
  Effect.gen(function* () {
    while (true) {
      const event = yield* PubSub.take(subscription)
      if (predicate(event)) return event
    }
  })

/** Polls `effect` every 10 ms until `predicate` holds (the test's timeout bounds the wait). */
export const eventually = <A, E>(effect: Effect.Effect<A, E>, predicate: (a: A) => boolean): Effect.Effect<A, E> =>
  Effect.gen(function* () {
    while (true) {
      const value = yield* effect
      if (predicate(value)) return value
      yield* Effect.sleep(10)
    }
  })
