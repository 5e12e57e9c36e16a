/**
 * The accepting side of the WebSocket transport: an HTTP or HTTPS server of its own (on a port), or
 * an upgrade path on a server the application owns, with the limits that hold before any handshake:
 * connections in total and per address, addresses throttled after failed handshakes, and a deadline
 * for the HTTP upgrade (a socket that trickles its headers, or says nothing, is closed).
 */
import * as Http from "node:http"
import * as Https from "node:https"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import type { TLSSocket } from "node:tls"
import { Effect, type Scope } from "effect"
import { WebSocketServer, type WebSocket as WsSocket } from "ws"
import { listenFailure, TransportStartError } from "../TransportError.ts"
import type { Engine } from "./engine.ts"
import type { Limits } from "./options.ts"

/** Where to listen (see `WebSocket.Listen`). */
export type Spec =
  | { readonly port: number; readonly host?: string | undefined }
  | { readonly server: Http.Server | Https.Server; readonly path?: string | undefined }

export interface Settings {
  readonly maxPayload: number
  readonly handshakeMs: number
  readonly limits: Limits
  /** HTTPS options for a server of its own (wss://); none for ws://. */
  readonly https: Https.ServerOptions | undefined
}

/** A socket accepted and upgraded, for the engine. */
export interface Accepted {
  readonly socket: WsSocket
  /** The socket the upgrade came on (`ws` writes its frames to it: see wsWrite.ts). */
  readonly raw: Duplex
  readonly remoteAddress: string
  /** The subject CN of the client certificate TLS verified, if any. */
  readonly certificateName: string | undefined
}

export interface Listening {
  readonly url: string
  /** Starts handing upgraded sockets to the engine (sockets that come before are refused). */
  readonly serve: (engine: Engine, accept: (accepted: Accepted) => void) => void
  /** Whether the server of its own listens on a loopback address only. */
  readonly loopback: boolean
  readonly tls: boolean
}

const startError = (field: string, detail: string) => new TransportStartError({ field, detail })

/** Whether a host name or address is loopback (this machine only). */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host)

/** The URL for an address the server listens on (a wildcard address is shown as loopback). */
const urlOf = (scheme: string, host: string, port: number, path: string) => {
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host
  return `${scheme}://${shown}:${port}${path === "/" ? "" : path}`
}

/** The subject CN of the verified peer certificate of a TLS socket, if any. */
export const certificateName = (socket: unknown): string | undefined => {
  const tls = socket as Partial<TLSSocket> | undefined
  if (tls?.authorized !== true || typeof tls.getPeerCertificate !== "function") return undefined
  const cn = tls.getPeerCertificate().subject?.CN
  return typeof cn === "string" ? cn : undefined
}

/** Counts connections in total and per address, within the limits. */
class Gate {
  private total = 0
  private readonly perAddress = new Map<string, number>()
  private readonly limits: Limits
  constructor(limits: Limits) {
    this.limits = limits
  }

  /** Why a new connection from this address is refused, or undefined to admit it (and count it). */
  admit(address: string, engine: Engine | undefined): string | undefined {
    const count = this.perAddress.get(address) ?? 0
    const refusal =
      engine === undefined
        ? "not serving yet"
        : engine.stopping
          ? "shutting down"
          : engine.handshake.throttled(address)
            ? "too many failed handshakes from this address"
            : this.total >= this.limits.maxConnections
              ? `${this.total} connections, the limit`
              : count >= this.limits.maxConnectionsPerAddress
                ? `${count} connections from this address, the limit`
                : undefined
    if (refusal !== undefined) {
      // a node shutting down refuses the peers that redial it: the expected end of a clean stop, not a problem
      engine?.log(engine.stopping ? "Debug" : "Warn", "connection refused", { address, peer: address, reason: refusal })
      return refusal
    }
    this.total++
    this.perAddress.set(address, count + 1)
    return undefined
  }

  release(address: string): void {
    this.total--
    const count = (this.perAddress.get(address) ?? 1) - 1
    if (count <= 0) this.perAddress.delete(address)
    else this.perAddress.set(address, count)
  }
}

/** Listens where `spec` says, until the scope closes. */
export const listen = (spec: Spec, settings: Settings): Effect.Effect<Listening, TransportStartError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ listening: Listening; close: (done: () => void) => void }, TransportStartError>((resume) => {
      const wss = new WebSocketServer({
        noServer: true,
        maxPayload: settings.maxPayload,
        perMessageDeflate: false,
        clientTracking: false,
        skipUTF8Validation: true // a text frame of invalid UTF-8 gets the same error frame as any text frame
      })
      const gate = new Gate(settings.limits)
      let engine: Engine | undefined
      let accept: ((accepted: Accepted) => void) | undefined
      const serve = (e: Engine, a: (accepted: Accepted) => void) => {
        engine = e
        accept = a
      }
      const upgrade = (request: Http.IncomingMessage, socket: Duplex, head: Buffer, counted: boolean) => {
        const remoteAddress = request.socket.remoteAddress ?? "unknown"
        if (!counted) {
          if (gate.admit(remoteAddress, engine) !== undefined) {
            socket.destroy()
            return
          }
          socket.once("close", () => gate.release(remoteAddress))
        }
        wss.handleUpgrade(request, socket, head, (ws) => {
          if (accept === undefined) ws.terminate()
          else accept({ socket: ws, raw: socket, remoteAddress, certificateName: certificateName(request.socket) })
        })
      }

      if ("port" in spec) {
        const host = spec.host ?? "127.0.0.1"
        const tls = settings.https !== undefined
        const server = tls ? Https.createServer(settings.https!) : Http.createServer()
        // every TCP connection is counted, and must complete its TLS handshake and upgrade in time (keyed by
        // its remote address and port, which the TLS socket wrapping it shares). The deadline is the engine's:
        // this node's own stalls are not counted against the peer (Node's own request and TLS handshake
        // timeouts are not, and are left at their defaults, well beyond it)
        const deadlines = new Map<string, () => void>()
        const keyOf = (socket: Socket) => `${socket.remoteAddress}:${socket.remotePort}`
        server.on("connection", (socket: Socket) => {
          const address = socket.remoteAddress ?? "unknown"
          if (engine === undefined || gate.admit(address, engine) !== undefined) {
            socket.destroy()
            return
          }
          const key = keyOf(socket)
          deadlines.set(
            key,
            engine.detector.deadline(settings.handshakeMs, () => socket.destroy())
          )
          socket.once("close", () => {
            deadlines.get(key)?.()
            deadlines.delete(key)
            gate.release(address)
          })
        })
        server.on("upgrade", (request, socket, head) => {
          const key = keyOf(request.socket)
          deadlines.get(key)?.()
          deadlines.delete(key)
          upgrade(request, socket, head, true)
        })
        server.on("request", (_request, response) => {
          response.writeHead(426, { Connection: "close", "Content-Type": "text/plain" })
          response.end("this is a Troupe node: connect with a WebSocket\n")
        })
        server.on("tlsClientError", (error, socket) => {
          // a socket closed before its TLS handshake completed (this node stopping, or the peer: a node that stops
          // while it dials) says nothing about trust; a certificate refused or a protocol error does
          const hungUp = engine?.stopping === true || (error as NodeJS.ErrnoException).code === "ECONNRESET"
          engine?.log(hungUp ? "Debug" : "Warn", "TLS handshake failed", {
            peer: socket.remoteAddress ?? "unknown",
            address: socket.remoteAddress,
            detail: error.message
          })
        })
        server.once("error", (error) => {
          const { part, detail } = listenFailure(error, host, spec.port)
          resume(Effect.fail(startError(`listen.${part}`, detail)))
        })
        server.listen(spec.port, host, () => {
          const address = server.address()
          const port = address === null || typeof address === "string" ? spec.port : address.port
          resume(
            Effect.succeed({
              listening: { url: urlOf(tls ? "wss" : "ws", host, port, "/"), serve, loopback: isLoopback(host), tls },
              close: (done) => {
                server.closeAllConnections()
                server.close(() => wss.close(() => done()))
              }
            })
          )
        })
        return
      }

      // On a shared server, take only the upgrades for our path and leave the others to their owners.
      const http = spec.server
      const path = spec.path ?? "/"
      const onUpgrade = (request: Http.IncomingMessage, socket: Duplex, head: Buffer) => {
        if (new URL(request.url ?? "/", "http://x").pathname === path) upgrade(request, socket, head, false)
        else if (http.listenerCount("upgrade") === 1) socket.destroy() // nobody else handles upgrades here
      }
      const ready = () => {
        const address = http.address()
        if (address === null || typeof address === "string") {
          resume(Effect.fail(startError("listen.server", "the server must listen on a TCP port")))
          return
        }
        http.on("upgrade", onUpgrade)
        const tls = http instanceof Https.Server
        resume(
          Effect.succeed({
            listening: {
              url: urlOf(tls ? "wss" : "ws", address.address, address.port, path),
              serve,
              loopback: isLoopback(address.address),
              tls
            },
            close: (done) => {
              http.off("upgrade", onUpgrade)
              wss.close(() => done())
            }
          })
        )
      }
      if (http.listening) ready()
      else http.once("listening", ready)
    }),
    ({ close }) => Effect.callback<void>((resume) => close(() => resume(Effect.void)))
  ).pipe(Effect.map(({ listening }) => listening))
