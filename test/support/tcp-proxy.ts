/**
 * A TCP proxy for tests: it forwards every connection to a target port and can cut those
 * connections or refuse new ones, so tests break real sockets without touching the code under test.
 */
import * as Net from "node:net"
import { Effect, type Scope } from "effect"

export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number
  /** `ws://127.0.0.1:<port>` */
  readonly url: string
  /** Points new connections at another target port. */
  readonly retarget: (port: number) => void
  /** Destroys every proxied connection (both sockets), as a network failure would. */
  readonly dropAll: () => void
  /** Destroys one proxied connection at least `minAgeMs` old, picked at random; `false` if there was none. */
  readonly dropOne: (minAgeMs?: number) => boolean
  /** Drops every connection and refuses new ones until `unblock`. */
  readonly block: () => void
  readonly unblock: () => void
  /** Connections currently proxied. */
  readonly connections: () => number
  /** Stops forwarding bytes (connections stay open, what arrives waits) until `thaw`; with `rate` only. */
  readonly freeze: () => void
  readonly thaw: () => void
}

/**
 * A bound on the proxy's forwarding: at most `bytes` every `everyMs` in each direction of each connection, as a slow
 * network would carry them (bytes the sender wrote wait in the proxy, in order, behind what came before).
 */
export interface Rate {
  readonly bytes: number
  readonly everyMs: number
}

/** Bytes a rate-bound direction holds before it stops reading its source (which then backs up into TCP). */
const HELD_BYTES = 256 * 1024

/** Forwards `from` to `to` at `rate` (by the clock), none while `frozen()`; returns what stops it. */
const forwardAt = (from: Net.Socket, to: Net.Socket, rate: Rate, frozen: () => boolean): (() => void) => {
  const held: Array<Buffer> = []
  let heldBytes = 0
  from.on("data", (chunk: Buffer) => {
    held.push(chunk)
    heldBytes += chunk.length
    if (heldBytes > HELD_BYTES) from.pause()
  })
  let last = Date.now()
  const timer = setInterval(() => {
    // by the time elapsed, not the ticks (which come late on a loaded machine), up to half a second's worth
    const at = Date.now()
    let budget = Math.floor((rate.bytes * Math.min(at - last, 500)) / rate.everyMs)
    last = at
    if (frozen() || to.destroyed) return
    while (budget > 0 && held.length > 0) {
      const head = held[0]!
      const part = head.length <= budget ? head : head.subarray(0, budget)
      if (part === head) held.shift()
      else held[0] = head.subarray(budget)
      to.write(part)
      budget -= part.length
      heldBytes -= part.length
    }
    if (heldBytes <= HELD_BYTES && from.isPaused()) from.resume()
  }, rate.everyMs)
  return () => clearInterval(timer)
}

/**
 * Starts a proxy to `targetPort` for as long as the scope lives; with `rate`, it forwards no faster than that.
 *
 * @example
 * const proxy = yield* TcpProxy.make(port, { bytes: 16 * 1024, everyMs: 10 }) // ~1.6 MB/s each way
 */
export const make = (targetPort: number, rate?: Rate): Effect.Effect<TcpProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: Net.Server; readonly proxy: TcpProxy }>((resume) => {
      let target = targetPort
      let blocked = false
      let frozen = false
      const isFrozen = () => frozen
      /** Each proxied connection, with when it was opened. */
      const pairs = new Map<readonly [Net.Socket, Net.Socket], number>()
      const server = Net.createServer((client) => {
        if (blocked) {
          client.destroy()
          return
        }
        const upstream = Net.connect(target, "127.0.0.1")
        const pair = [client, upstream] as const
        pairs.set(pair, Date.now())
        const stops: Array<() => void> = []
        const destroy = () => {
          pairs.delete(pair)
          for (const stop of stops) stop()
          client.destroy()
          upstream.destroy()
        }
        client.on("error", destroy).on("close", destroy)
        upstream.on("error", destroy).on("close", destroy)
        if (rate === undefined) {
          client.pipe(upstream)
          upstream.pipe(client)
        } else {
          stops.push(forwardAt(client, upstream, rate, isFrozen), forwardAt(upstream, client, rate, isFrozen))
        }
      })
      const drop = (pair: readonly [Net.Socket, Net.Socket]) => {
        pairs.delete(pair)
        pair[0].resetAndDestroy()
        pair[1].resetAndDestroy()
      }
      const dropAll = () => {
        for (const pair of Array.from(pairs.keys())) drop(pair)
      }
      const dropOne = (minAgeMs = 0) => {
        const openedBefore = Date.now() - minAgeMs
        const all = Array.from(pairs).flatMap(([pair, opened]) => (opened <= openedBefore ? [pair] : []))
        const pair = all[Math.floor(Math.random() * all.length)]
        if (pair !== undefined) drop(pair)
        return pair !== undefined
      }
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as Net.AddressInfo).port
        resume(
          Effect.succeed({
            server,
            proxy: {
              port,
              url: `ws://127.0.0.1:${port}`,
              retarget: (p) => {
                target = p
              },
              dropAll,
              dropOne,
              block: () => {
                blocked = true
                dropAll()
              },
              unblock: () => {
                blocked = false
              },
              connections: () => pairs.size,
              freeze: () => {
                frozen = true
              },
              thaw: () => {
                frozen = false
              }
            }
          })
        )
      })
    }),
    ({ server, proxy }) =>
      Effect.callback<void>((resume) => {
        proxy.dropAll()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ proxy }) => proxy))

/**
 * Cuts a random proxied connection of `proxies` every `minMs` to `maxMs`, until interrupted; counts the cuts.
 * Only connections at least `minAgeMs` old are cut: a connection then has that long to get through its
 * handshake. Without it, on a starved machine (handshakes of hundreds of ms) cuts this frequent can keep two
 * live nodes from completing any handshake for longer than their failure detector waits: a real partition,
 * whose verdict loses what the link had not acknowledged (as the design says), not a transport fault.
 *
 * @example
 * const cuts = { count: 0 }
 * const chaos = yield* Effect.forkChild(TcpProxy.cutAtRandom(proxies, cuts, 20, 120, 500))
 */
export const cutAtRandom = (
  proxies: ReadonlyArray<TcpProxy>,
  cuts: { count: number },
  minMs: number,
  maxMs: number,
  minAgeMs = 0
): Effect.Effect<never> =>
  Effect.forever(
    Effect.gen(function* () {
      yield* Effect.sleep(minMs + Math.random() * (maxMs - minMs))
      if (proxies[Math.floor(Math.random() * proxies.length)]!.dropOne(minAgeMs)) cuts.count++
    })
  )
