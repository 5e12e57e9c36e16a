/**
 * Nodes of a test, each an actor system on its own transport, all connected to each other: in one process
 * over the in-process transport, or over real WebSockets on loopback. The same test body runs on both.
 */
import { ActorSystem } from "@troupe/runtime"
import { FailureDetector, InProcess, Transport, WebSocket } from "@troupe/transport"
import { Effect, Exit, Option, Scope } from "effect"

/** A node of a test: its actor system, and ways to end it. */
export interface Node {
  readonly name: string
  readonly system: ActorSystem.ActorSystemService
  readonly transport: Transport.Service
  /** Shuts the node down gracefully (its peers see it leave). */
  readonly shutdown: Effect.Effect<void>
  /** Cuts the node off as a crash would: its links break and its peers declare it down. */
  readonly crash: Effect.Effect<void>
  /** The in-process network the node is on (for partitions); none over WebSockets. */
  readonly network?: InProcess.Network | undefined
}

export interface Topology {
  readonly name: string
  /** Starts one node per name, connects every pair, and stops them when the scope closes. */
  readonly start: (
    names: ReadonlyArray<string>,
    options?: ActorSystem.Options,
    transport?: Transport.Options
  ) => Effect.Effect<ReadonlyArray<Node>, unknown, Scope.Scope>
}

/** Fast failure detection, so node-down tests take a fraction of a second. */
const transportOptions = {
  secret: "a test secret of the suite",
  heartbeatInterval: "50 millis",
  failureDetector: FailureDetector.timeout("400 millis"),
  reconnect: { initialDelay: "20 millis", maxDelay: "200 millis" }
} as const

const node = (
  name: string,
  transport: (scope: Scope.Scope) => Effect.Effect<Transport.Service, unknown>,
  crash: Effect.Effect<void> | undefined,
  options: ActorSystem.Options,
  network?: InProcess.Network
): Effect.Effect<Node, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    // the transport outlives the actor system: closing only its scope cuts the node off, as a crash would
    const transportScope = yield* Scope.make()
    const systemScope = yield* Scope.make()
    const shutdown = Effect.andThen(Scope.close(systemScope, Exit.void), Scope.close(transportScope, Exit.void))
    yield* Effect.addFinalizer(() => shutdown)
    const t = yield* transport(transportScope)
    const system = yield* ActorSystem.make({ shutdownTimeout: "500 millis", ...options, name }).pipe(
      Effect.provideService(Transport.Transport, t),
      Scope.provide(systemScope)
    )
    return { name, system, transport: t, shutdown, crash: crash ?? Scope.close(transportScope, Exit.void), network }
  })

const connectAll = (nodes: ReadonlyArray<Node>, address: (node: Node) => string) =>
  Effect.forEach(
    nodes.flatMap((a, i) => nodes.slice(i + 1).map((b) => [a, b] as const)),
    ([a, b]) => a.system.connect(address(b)),
    { discard: true }
  )

export const inProcess: Topology = {
  name: "in-process",
  start: (names, options = {}, extra = {}) =>
    Effect.gen(function* () {
      const network = InProcess.makeNetwork()
      const nodes = yield* Effect.forEach(names, (name) =>
        node(
          name,
          (scope) => Scope.provide(InProcess.make(network, { ...transportOptions, ...extra, node: name }), scope),
          network.crash(name),
          options,
          network
        )
      )
      yield* connectAll(nodes, (n) => n.name)
      return nodes
    })
}

export const webSocket: Topology = {
  name: "WebSocket",
  start: (names, options = {}, extra = {}) =>
    Effect.gen(function* () {
      const nodes = yield* Effect.forEach(names, (name) =>
        node(
          name,
          (scope) =>
            Scope.provide(
              WebSocket.make({ ...transportOptions, ...extra, node: name, listen: { port: 0, host: "127.0.0.1" } }),
              scope
            ),
          undefined,
          options
        )
      )
      yield* connectAll(nodes, (n) => Option.getOrThrow(n.transport.address))
      return nodes
    })
}

export const topologies: ReadonlyArray<Topology> = [inProcess, webSocket]
