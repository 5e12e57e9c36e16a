/**
 * The in-process transport: many nodes in one process, joined by a shared {@link Network}. It runs
 * the same engine as the WebSocket transport (handshake, heartbeats, failure detection, reliable
 * links) over in-memory pipes that carry the same encoded frames, so what cannot cross a wire cannot
 * cross here either. Pipes deliver asynchronously and in order, like a socket.
 *
 * The network injects faults for tests: cut links ({@link Network.drop}), add latency
 * ({@link Network.delay}), split nodes into groups that cannot talk ({@link Network.partition}),
 * undo it all ({@link Network.heal}), and kill a node without letting it say goodbye
 * ({@link Network.crash}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InProcess } from "@troupe/transport"
 *
 * const program = Effect.gen(function*() {
 *   const network = InProcess.makeNetwork()
 *   const a = yield* InProcess.make(network, { node: "a" })
 *   const b = yield* InProcess.make(network, { node: "b" })
 *   const peer = yield* a.connect("b") // in process, the target is the node id
 *   yield* network.drop("a", "b") // the link reconnects and resends what was not acknowledged
 * }).pipe(Effect.scoped)
 * ```
 * @since 0.1.0
 */
import { Duration, Effect, Layer, Option, Result, type Scope } from "effect"
import * as CloseCode from "./CloseCode.ts"
import type { Wire, WireEvents } from "./internal/connection.ts"
import type * as Engine from "./internal/engine.ts"
import * as EngineScope from "./internal/engineScope.ts"
import { resolve } from "./internal/options.ts"
import type { Incarnation } from "./NodeId.ts"
import { type Options, type Service, Transport } from "./Transport.ts"
import type { TransportStartError } from "./TransportError.ts"

/**
 * A shared in-memory network and its fault injection. Node ids are its addresses.
 *
 * @since 0.1.0
 */
export interface Network {
  /** Cuts every connection between `a` and `b` (or every connection of `a`); links reconnect. */
  readonly drop: (a: string, b?: string) => Effect.Effect<void>
  /** Adds latency to everything `a` and `b` send each other (0 removes it). */
  readonly delay: (a: string, b: string, latency: Duration.Input) => Effect.Effect<void>
  /**
   * Cuts the nodes of `side` off from the nodes of `other` (default: every other node): their
   * connections break and new ones are refused until {@link Network.heal}.
   */
  readonly partition: (side: ReadonlyArray<string>, other?: ReadonlyArray<string>) => Effect.Effect<void>
  /** Removes every partition and delay. */
  readonly heal: Effect.Effect<void>
  /**
   * Kills the current incarnation of a node as a crash would: its connections break and it can
   * neither connect nor be reached again, so it never says goodbye; a dial to it is refused, as a
   * socket's to a port nothing listens on, so its peers declare it down at once. Start a new transport
   * with the same node id to restart it (as a new incarnation).
   */
  readonly crash: (node: string) => Effect.Effect<void>
}

interface Endpoint {
  readonly node: string
  readonly incarnation: Incarnation
  readonly engine: Engine.Engine
  crashed: boolean
}

interface Item {
  readonly at: number
  readonly data?: Buffer
  /** Told when the frame is delivered (or lost), like a socket's write callback. */
  readonly done?: (error?: Error) => void
  readonly close?: { readonly code: number; readonly reason: string }
}

/** One end of a pipe; writes go to the other end's events. */
class PipeEnd implements Wire {
  other: PipeEnd | undefined = undefined
  events: WireEvents | undefined = undefined
  closed = false
  private readonly queue: Array<Item> = []
  private scheduled = false
  readonly network: NetworkImpl
  readonly node: string
  readonly pipe: Pipe

  constructor(network: NetworkImpl, node: string, pipe: Pipe) {
    this.network = network
    this.node = node
    this.pipe = pipe
  }

  /** A pipe adds no header: frames are built with no room for one (`room` is 0). */
  readonly headerRoom = 0

  send(data: Buffer, done: (error?: Error) => void, room: number): void {
    if (this.closed || this.other === undefined) {
      done(new Error("the pipe is closed"))
      return
    }
    if (room !== 0) data = data.subarray(room)
    this.other.enqueue({ at: Date.now() + this.network.latency(this.node, this.other.node), data, done })
  }

  bufferedAmount(): number {
    return 0
  }

  close(code: number, reason: string): void {
    if (this.closed || this.other === undefined) {
      this.terminate()
      return
    }
    this.other.enqueue({ at: Date.now() + this.network.latency(this.node, this.other.node), close: { code, reason } })
  }

  terminate(): void {
    this.pipe.cut()
  }

  /** Queues an item for this end's events, in order, after its latency. */
  enqueue(item: Item): void {
    const last = this.queue.at(-1)
    this.queue.push(last !== undefined && last.at > item.at ? { ...item, at: last.at } : item)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return
    this.scheduled = true
    const wait = this.queue[0]!.at - Date.now()
    if (wait > 0) setTimeout(this.drain, wait)
    else setImmediate(this.drain)
  }

  private drain = (): void => {
    this.scheduled = false
    const at = Date.now()
    while (this.queue.length > 0 && this.queue[0]!.at <= at && !this.closed) {
      const item = this.queue.shift()!
      if (item.data !== undefined) {
        item.done?.()
        this.events?.message(item.data, true)
      } else if (item.close !== undefined) {
        // a close frame: this end closes, and the other end hears the echo
        this.pipe.finish(item.close.code, item.close.reason)
      }
    }
    this.schedule()
  }

  /** Reports the close to this end's owner, once. */
  end(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    const lost = this.queue.splice(0)
    for (const item of lost) item.done?.(new Error("the pipe is closed"))
    const events = this.events
    setImmediate(() => events?.closed(code, reason))
  }
}

class Pipe {
  readonly dialer: PipeEnd
  readonly acceptor: PipeEnd
  readonly network: NetworkImpl

  constructor(network: NetworkImpl, from: string, to: string) {
    this.network = network
    this.dialer = new PipeEnd(network, from, this)
    this.acceptor = new PipeEnd(network, to, this)
    this.dialer.other = this.acceptor
    this.acceptor.other = this.dialer
  }

  between(a: string, b: string | undefined): boolean {
    const x = this.dialer.node
    const y = this.acceptor.node
    return b === undefined ? x === a || y === a : (x === a && y === b) || (x === b && y === a)
  }

  /** Both ends close with the same code (a clean close). */
  finish(code: number, reason: string): void {
    this.network.pipes.delete(this)
    this.dialer.end(code, reason)
    this.acceptor.end(code, reason)
  }

  /** The connection breaks: both ends see an abnormal close and in-flight frames are lost. */
  cut(): void {
    this.finish(CloseCode.Abnormal, "")
  }
}

/** What a dial to a node that is not there fails with: a socket's error when nothing listens on the port. */
const refusedError = (target: string): Error =>
  Object.assign(new Error(`connect ECONNREFUSED ${target}: no node ${target} on this network`), {
    code: "ECONNREFUSED"
  })

class NetworkImpl implements Network {
  readonly endpoints = new Map<string, Endpoint>()
  readonly pipes = new Set<Pipe>()
  private readonly blocked = new Set<string>()
  private readonly delays = new Map<string, number>()

  private key(a: string, b: string): string {
    return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`
  }

  latency(a: string, b: string): number {
    return this.delays.size === 0 ? 0 : (this.delays.get(this.key(a, b)) ?? 0)
  }

  register(endpoint: Endpoint): void {
    this.endpoints.set(endpoint.node, endpoint)
  }

  unregister(endpoint: Endpoint): void {
    if (this.endpoints.get(endpoint.node) === endpoint) this.endpoints.delete(endpoint.node)
  }

  dial(from: Endpoint, target: string, events: WireEvents): Wire {
    const pipe = new Pipe(this, from.node, target)
    pipe.dialer.events = events
    setImmediate(() => {
      if (pipe.dialer.closed) return
      const to = this.endpoints.get(target)
      if (to === undefined || to.crashed || from.crashed || this.blocked.has(this.key(from.node, target))) {
        // nothing listens there (no such node, or it crashed), as a socket's refused connection says
        if (this.refuses(from, target)) events.failed(refusedError(target), "io")
        pipe.cut()
        return
      }
      this.pipes.add(pipe)
      pipe.acceptor.events = to.engine.accept(pipe.acceptor)
      events.opened()
    })
    return pipe.dialer
  }

  /** Whether a dial from `from` to `target` is refused: no such node, or it crashed (a partition only cuts it). */
  refuses(from: Endpoint, target: string): boolean {
    const to = this.endpoints.get(target)
    return !from.crashed && (to === undefined || to.crashed) && !this.blocked.has(this.key(from.node, target))
  }

  private cutWhere(predicate: (pipe: Pipe) => boolean): void {
    for (const pipe of Array.from(this.pipes)) if (predicate(pipe)) pipe.cut()
  }

  drop = (a: string, b?: string): Effect.Effect<void> => Effect.sync(() => this.cutWhere((pipe) => pipe.between(a, b)))

  delay = (a: string, b: string, latency: Duration.Input): Effect.Effect<void> =>
    Effect.sync(() => {
      const millis = Duration.toMillis(latency)
      if (millis > 0) this.delays.set(this.key(a, b), millis)
      else this.delays.delete(this.key(a, b))
    })

  partition = (side: ReadonlyArray<string>, other?: ReadonlyArray<string>): Effect.Effect<void> =>
    Effect.sync(() => {
      const others = other ?? Array.from(this.endpoints.keys()).filter((node) => !side.includes(node))
      for (const a of side) {
        for (const b of others) {
          this.blocked.add(this.key(a, b))
          this.cutWhere((pipe) => pipe.between(a, b))
        }
      }
    })

  heal: Effect.Effect<void> = Effect.sync(() => {
    this.blocked.clear()
    this.delays.clear()
  })

  crash = (node: string): Effect.Effect<void> =>
    Effect.sync(() => {
      const endpoint = this.endpoints.get(node)
      if (endpoint === undefined) return
      endpoint.crashed = true
      this.cutWhere((pipe) => pipe.between(node, undefined))
    })
}

/**
 * A new, empty network.
 *
 * @since 0.1.0
 */
export const makeNetwork = (): Network => new NetworkImpl()

/**
 * Starts a node on a network, for as long as the scope lives. Its address is its node id, and
 * `connect` takes node ids.
 *
 * @since 0.1.0
 */
export const make = (network: Network, options?: Options): Effect.Effect<Service, TransportStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const resolved = resolve(options)
    if (Result.isFailure(resolved)) return yield* resolved.failure
    const net = network as NetworkImpl
    let endpoint: Endpoint | undefined
    const engine = yield* EngineScope.make({
      ...resolved.success,
      address: Option.some(resolved.success.node),
      dial: (target, events) => net.dial(endpoint!, target, events),
      probe: (target, done) => setImmediate(() => done(net.refuses(endpoint!, target)))
    })
    endpoint = { node: resolved.success.node, incarnation: resolved.success.incarnation, engine, crashed: false }
    net.register(endpoint)
    const registered = endpoint
    yield* Effect.addFinalizer(() => Effect.sync(() => net.unregister(registered)))
    return engine.service()
  })

/**
 * The in-process transport as a layer.
 *
 * @since 0.1.0
 */
export const layer = (network: Network, options?: Options): Layer.Layer<Transport, TransportStartError> =>
  Layer.effect(Transport, make(network, options))
