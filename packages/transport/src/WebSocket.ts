/**
 * The WebSocket transport, on the `ws` package: nodes in different processes or machines. A node
 * listens on a port, or on an existing Node HTTP(S) server (use an HTTPS server for `wss://`), and
 * dials peers by URL. Frames are binary; inbound ones are limited to `maxFrameBytes` (the socket is
 * closed with 1009 beyond) and decoded with Schema. See `CloseCode` for the refusals.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { WebSocket } from "@troupe/transport"
 *
 * const program = Effect.gen(function*() {
 *   const a = yield* WebSocket.make({ node: "a", secret: "s3cret", listen: { port: 0 } })
 *   const b = yield* WebSocket.make({ node: "b", secret: "s3cret" }) // a client-only node
 *   const peer = yield* b.connect(Option.getOrThrow(a.address))
 * }).pipe(Effect.scoped)
 * ```
 * @since 0.1.0
 */
import type * as Http from "node:http"
import * as Https from "node:https"
import type { Duplex } from "node:stream"
import type { SecureContextOptions } from "node:tls"
import { Effect, Layer, Option, Result, type Scope } from "effect"
import { WebSocket as Socket, WebSocketServer } from "ws"
import * as Engine from "./internal/engine.ts"
import { resolve } from "./internal/options.ts"
import { type Service, Transport, type Options as TransportOptions } from "./Transport.ts"
import { TransportStartError } from "./TransportError.ts"

/**
 * Where to listen: a port (0 picks a free one) on `host` (default `127.0.0.1`; use `0.0.0.0` for
 * every interface), or an existing HTTP or HTTPS server (already listening or about to), on `path`.
 *
 * @since 0.1.0
 */
export type Listen =
  | { readonly port: number; readonly host?: string | undefined }
  | { readonly server: Http.Server | Https.Server; readonly path?: string | undefined }

/**
 * WebSocket transport options: the shared {@link TransportOptions} plus
 *
 * - `listen`: where to accept connections; leave it out for a node that only dials.
 * - `advertisedUrl`: the URL to publish as this node's address when the listening one is not what
 *   others should use (behind a proxy, on `0.0.0.0`, ...).
 * - `tls`: TLS options for dialing `wss://` URLs, such as the `ca` that signed the peers'
 *   certificates.
 *
 * @since 0.1.0
 */
export interface Options extends TransportOptions {
  readonly listen?: Listen | undefined
  readonly advertisedUrl?: string | undefined
  readonly tls?: (SecureContextOptions & { readonly rejectUnauthorized?: boolean | undefined }) | undefined
}

const startError = (field: string, detail: string) => new TransportStartError({ field, detail })

/** Hands a socket's events to the engine. */
const wire = (socket: Socket, events: () => Engine.WireEvents | undefined) => {
  socket.on("message", (data, isBinary) => events()?.message(data as Buffer, isBinary))
  socket.on("close", (code, reason) => events()?.closed(code, reason.toString("utf8")))
  socket.on("error", (error: Error & { readonly code?: string }) =>
    events()?.failed(error, error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH")
  )
  const result: Engine.Wire = {
    send: (data, done) => socket.send(data, done),
    bufferedAmount: () => socket.bufferedAmount,
    close: (code, reason) => socket.close(code, reason),
    terminate: () => socket.terminate()
  }
  return result
}

interface Listening {
  readonly server: WebSocketServer
  readonly url: string
  /** Undoes what listening did to a shared HTTP server. */
  readonly detach: () => void
}

/** The URL for an address the server listens on (a wildcard address is shown as loopback). */
const urlOf = (scheme: string, host: string, port: number, path: string) => {
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host
  return `${scheme}://${shown}:${port}${path === "/" ? "" : path}`
}

const listen = (
  options: Options,
  maxPayload: number
): Effect.Effect<Listening | undefined, TransportStartError, Scope.Scope> => {
  const spec = options.listen
  if (spec === undefined) return Effect.succeed(undefined)
  const common = { maxPayload, perMessageDeflate: false, clientTracking: false }
  return Effect.acquireRelease(
    Effect.callback<Listening, TransportStartError>((resume) => {
      if ("port" in spec) {
        const host = spec.host ?? "127.0.0.1"
        const server = new WebSocketServer({ ...common, port: spec.port, host })
        server.once("error", (error) => resume(Effect.fail(startError("listen.port", error.message))))
        server.once("listening", () => {
          const address = server.address()
          const port = address === null || typeof address === "string" ? spec.port : address.port
          resume(Effect.succeed({ server, url: urlOf("ws", host, port, "/"), detach: () => {} }))
        })
        return
      }
      // On a shared server, take only the upgrades for our path and leave the others to their owners.
      const http = spec.server
      const path = spec.path ?? "/"
      const server = new WebSocketServer({ ...common, noServer: true })
      const upgrade = (request: Http.IncomingMessage, socket: Duplex, head: Buffer) => {
        if (new URL(request.url ?? "/", "http://x").pathname === path) {
          server.handleUpgrade(request, socket, head, (ws) => server.emit("connection", ws, request))
        } else if (http.listenerCount("upgrade") === 1) {
          socket.destroy() // nobody else handles upgrades on this server
        }
      }
      const ready = () => {
        const address = http.address()
        if (address === null || typeof address === "string") {
          resume(Effect.fail(startError("listen.server", "the server must listen on a TCP port")))
          return
        }
        http.on("upgrade", upgrade)
        const scheme = http instanceof Https.Server ? "wss" : "ws"
        resume(
          Effect.succeed({
            server,
            url: urlOf(scheme, address.address, address.port, path),
            detach: () => http.off("upgrade", upgrade)
          })
        )
      }
      if (http.listening) ready()
      else http.once("listening", ready)
    }),
    ({ server, detach }) =>
      Effect.callback<void>((resume) => {
        detach()
        server.close(() => resume(Effect.void))
      })
  )
}

/**
 * Starts a WebSocket node for as long as the scope lives. Its address is its URL when it listens.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Service, TransportStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const resolved = resolve(options)
    if (Result.isFailure(resolved)) return yield* resolved.failure
    const settings = resolved.success
    const listening = yield* listen(options, settings.maxFrameBytes)
    const address = options.advertisedUrl ?? listening?.url
    const engine = yield* Engine.make({
      ...settings,
      address: Option.fromNullishOr(address),
      dial: (url, events) => {
        const socket = new Socket(url, {
          maxPayload: settings.maxFrameBytes,
          perMessageDeflate: false,
          handshakeTimeout: settings.handshakeMs,
          ...options.tls
        })
        socket.on("open", events.opened)
        return wire(socket, () => events)
      }
    })
    if (listening !== undefined) {
      listening.server.on("connection", (socket) => {
        let events: Engine.WireEvents | undefined
        events = engine.accept(wire(socket, () => events))
      })
    }
    return engine.service()
  })

/**
 * The WebSocket transport as a layer.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Transport, TransportStartError> =>
  Layer.effect(Transport, make(options))
