/**
 * A raw peer that joins a node and sends it envelopes as fast as its window allows, acknowledging what the node
 * sends back: the harness of the tests of what a peer with the secret can make a node keep (`remote-*-flood`).
 */
import { ActorSystem } from "@troupe/runtime"
import { Transport, type TransportError, WebSocket } from "@troupe/transport"
import { Effect, Logger, Option, type Scope } from "effect"
import * as RawPeer from "./raw-peer.ts"

/** A joined raw peer: `send` puts envelopes on the wire within the node's window and resolves once all are acked. */
export interface Flooder {
  readonly raw: RawPeer.RawPeer
  /** Sends the envelopes `make(0)` .. `make(count - 1)` in frames of `perFrame`; resolves when the node took them. */
  readonly send: (count: number, make: (n: number) => unknown, perFrame?: number) => Promise<void>
  /** The envelopes the node sent (replies, system messages), in order, when joined with `keep` (else none). */
  readonly received: Array<unknown>
  readonly close: () => void
}

/**
 * Joins the node at `url` as `node` with `secret`; heartbeats every 300 ms until closed. With `keep`, what the node
 * sends is kept in `received` (this process's heap: leave it off when measuring the node's).
 */
export const join = async (url: string, node: string, secret: string, keep = false): Promise<Flooder> => {
  const raw = await RawPeer.open(url)
  let acked = 0
  let last = 0
  let sent = 0
  const received: Array<unknown> = []
  raw.socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as {
      readonly type?: string
      readonly ack?: unknown
      readonly first?: number
      readonly envelopes?: ReadonlyArray<unknown>
    }
    if (typeof frame.ack === "number" && frame.ack > acked) acked = frame.ack
    if (frame.type === "data" && frame.first !== undefined && frame.envelopes !== undefined) {
      const end = frame.first + frame.envelopes.length - 1
      if (end > last) {
        if (keep) received.push(...frame.envelopes.slice(Math.max(0, last + 1 - frame.first)))
        last = end
      }
      raw.send({ type: "ack", ack: last })
    }
  })
  const { challenge } = await RawPeer.join(raw, RawPeer.identity(node), secret)
  const window = Number(challenge.window)
  const beat = setInterval(() => raw.send({ type: "heartbeat" }), 300)
  // the raw peer queues every frame for `next`: take them as they come, or this process's heap grows with them
  void (async () => {
    while (raw.isOpen()) await raw.next({ all: true, timeout: 60_000 }).catch(() => undefined)
  })()
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
  return {
    raw,
    received,
    send: async (count, make, perFrame = 500) => {
      for (let n = 0; n < count; n += perFrame) {
        const size = Math.min(perFrame, count - n)
        while (sent + size - acked > window) await pause(5)
        const envelopes = Array.from({ length: size }, (_, i) => make(n + i))
        raw.send({ type: "data", ack: last, first: sent + 1, envelopes })
        sent += size
      }
      while (acked < sent) await pause(10)
    },
    close: () => {
      clearInterval(beat)
      raw.socket.close()
    }
  }
}

/**
 * The envelope of a raw peer that lists (`add`) or unlists (`remove`) `entry` in the target's receptionist.
 *
 * @example
 * ```ts
 * await peer.send(6_000, (n) => PeerFlood.listing("add", { name: "echoes", protocol: "Echo", path: `/user/e-${n}` }))
 * ```
 */
export const listing = (
  op: "add" | "remove",
  entry: { readonly name: string; readonly protocol: string; readonly path: string }
) => ({
  kind: "system",
  to: { node: "target", path: "/system" },
  payload: { type: "directory", directory: "receptionist", op, entry }
})

/**
 * The envelope of a raw peer `node` that asks the participant `/user/w` of the target (protocol `Job`, see job.ts) to
 * Join made-up session `made-up-<node>-<n>`, with C and the coordinator on `node` itself.
 *
 * @example
 * ```ts
 * await peer.send(600, (n) => PeerFlood.madeUpJoin("joiner", n), 200)
 * ```
 */
export const madeUpJoin = (node: string, n: number) => ({
  kind: "ask",
  to: { node: "target", path: "/user/w" },
  correlationId: `join-${n}`,
  payload: {
    _tag: "Join",
    session: `made-up-${node}-${n}`,
    roles: {
      C: { node, path: "/user/c", protocol: "Job/C" },
      W: { node: "target", path: "/user/w", protocol: "Job/W" }
    },
    coordinator: { node, path: `/user/session-${n}`, protocol: "Session(Job)" },
    traceLimit: 100
  }
})

/** A node a test floods (see {@link floodTarget}): its transport, its system, and how raw peers join it. */
export interface FloodTarget {
  readonly transport: Transport.Service
  readonly system: ActorSystem.ActorSystemService
  /** The node's address, for raw peers of the test's own. */
  readonly url: string
  /** Joins a raw peer as `node` (see {@link join}), closed when the scope closes. */
  readonly join: (node: string, keep?: boolean) => Effect.Effect<Flooder, never, Scope.Scope>
}

/**
 * The node `target` on 127.0.0.1 (a WebSocket transport with `secret`, on a free port, and an actor system with
 * `system`'s options on it, logging to `systemLoggers` when given), for raw peers to flood; both close with the scope.
 *
 * @example
 * ```ts
 * const { system, join } = yield* PeerFlood.floodTarget(SECRET)
 * const peer = yield* join("flooder")
 * yield* Effect.promise(() => peer.send(10_000, (n) => ({ kind: "tell", to: { node: "target", path: "/user/a" }, payload: n })))
 * ```
 */
export const floodTarget = <E = never>(
  secret: string,
  options: {
    readonly system?: ActorSystem.Options<E>
    readonly systemLoggers?: ReadonlyArray<Logger.Logger<unknown, unknown>>
    readonly transport?: WebSocket.Options
  } = {}
): Effect.Effect<FloodTarget, E | ActorSystem.InvalidSystemOptions | TransportError.TransportStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const transport = yield* WebSocket.make({
      node: "target",
      secret,
      listen: { port: 0, host: "127.0.0.1" },
      ...options.transport
    })
    const make = ActorSystem.make<E>({ name: "target", ...options.system }).pipe(
      Effect.provideService(Transport.Transport, transport)
    )
    const system = yield* options.systemLoggers === undefined
      ? make
      : make.pipe(Effect.provide(Logger.layer(options.systemLoggers)))
    const url = Option.getOrThrow(transport.address)
    return {
      transport,
      system,
      url,
      join: (node, keep = false) =>
        Effect.acquireRelease(
          Effect.promise(() => join(url, node, secret, keep)),
          (peer) => Effect.sync(() => peer.close())
        )
    }
  })

/**
 * An honest node `honest` with the secret, linked to the flooded `target`: it dials the target, or, given `listen`,
 * listens on that host and the target dials it (so that its link has an address other than the raw peers'
 * 127.0.0.1). Its system closes with the scope.
 *
 * @example
 * ```ts
 * const target = yield* PeerFlood.floodTarget(SECRET)
 * const honest = yield* PeerFlood.honestNode(target, SECRET, { listen: "127.0.0.2" })
 * ```
 */
export const honestNode = (target: FloodTarget, secret: string, options: { readonly listen?: string } = {}) =>
  Effect.gen(function* () {
    const transport = yield* WebSocket.make({
      node: "honest",
      secret,
      listen: { port: 0, host: options.listen ?? "127.0.0.1" }
    })
    const honest = yield* ActorSystem.make({ name: "honest", askTimeout: "60 seconds" }).pipe(
      Effect.provideService(Transport.Transport, transport)
    )
    if (options.listen === undefined) yield* honest.connect(target.url)
    else yield* target.system.connect(Option.getOrThrow(transport.address))
    return honest
  })
