/**
 * The WebSocket transport, on the `ws` package: nodes in different processes or machines. A node
 * listens on a port (`wss://` with `tls.cert` and `tls.key`), or on an existing Node HTTP(S) server,
 * and dials peers by URL. Peers authenticate with the shared secret (never sent: a challenge–response
 * handshake proves it) and, under mutual TLS, with certificates that name their node ids. Frames are
 * binary; inbound ones are limited to `maxFrameBytes` (the socket is closed with 1009 beyond) and
 * decoded with Schema. See `CloseCode` for the refusals and `Transport.Limits` for the limits.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { WebSocket } from "@troupe/transport"
 *
 * const program = Effect.gen(function*() {
 *   const secret = process.env.TROUPE_TOKEN! // the same 16+ characters on every node
 *   const a = yield* WebSocket.make({ node: "a", secret, listen: { port: 0 } })
 *   const b = yield* WebSocket.make({ node: "b", secret }) // a client-only node
 *   const peer = yield* b.connect(Option.getOrThrow(a.address))
 * }).pipe(Effect.scoped)
 * ```
 * @since 0.1.0
 */
import type * as Http from "node:http"
import type * as Https from "node:https"
import * as Net from "node:net"
import type { Duplex } from "node:stream"
import * as NodeTls from "node:tls"
import { Effect, Layer, Option, Result, type Scope } from "effect"
import { WebSocket as Socket } from "ws"
import type { Wire, WireEvents, WireFailure } from "./internal/connection.ts"
import * as EngineScope from "./internal/engineScope.ts"
import { certificateName, isLoopback, listen } from "./internal/listener.ts"
import { checkAdvertisedUrl, checkListen, resolve } from "./internal/options.ts"
import * as WsWrite from "./internal/wsWrite.ts"
import { type Service, Transport, type Options as TransportOptions } from "./Transport.ts"
import { TransportStartError } from "./TransportError.ts"

/**
 * Where to listen: a port (0 picks a free one) on `host` (default `127.0.0.1`; use `0.0.0.0` for
 * every interface), or an existing HTTP or HTTPS server (already listening or about to), on `path`.
 * On a port, the node serves `wss://` when `tls` has a `cert` and a `key`.
 *
 * @since 0.1.0
 */
export type Listen =
  | { readonly port: number; readonly host?: string | undefined }
  | { readonly server: Http.Server | Https.Server; readonly path?: string | undefined }

/**
 * TLS, for listening on a port and for dialing `wss://`: Node's secure context options (PEM
 * strings or buffers), of which
 *
 * - `cert`, `key`: this node's certificate (chain) and private key. A node listening on a port
 *   serves `wss://` with them, and presents them when it dials.
 * - `ca`: the certificate authorities that sign the peers' certificates (default: the system's).
 *   With `cert` and `key` too, TLS is **mutual**: a listening node asks every peer for a
 *   certificate that `ca` signed, and a peer's node id must be its certificate's subject CN.
 * - `rejectUnauthorized`: leave it alone. `false` (certificates not verified) is logged as a
 *   warning at start, and disables identity by certificate.
 *
 * @since 0.1.0
 */
export type Tls = NodeTls.SecureContextOptions & { readonly rejectUnauthorized?: boolean | undefined }

/**
 * WebSocket transport options: the shared {@link TransportOptions} plus
 *
 * - `listen`: where to accept connections; leave it out for a node that only dials.
 * - `advertisedUrl`: the URL to publish as this node's address when the listening one is not what
 *   others should use (behind a proxy, on `0.0.0.0`, ...).
 * - `tls`: see {@link Tls}.
 * - `insecureNoAuth`: start without a `secret` (and without mutual TLS): any peer that can reach
 *   this node may join it. For experiments on one machine: such a node listens on loopback only;
 *   without the flag it refuses to start.
 *
 * @since 0.1.0
 */
export interface Options extends TransportOptions {
  readonly listen?: Listen | undefined
  readonly advertisedUrl?: string | undefined
  readonly tls?: Tls | undefined
  readonly insecureNoAuth?: boolean | undefined
}

const startError = (field: string, detail: string) => new TransportStartError({ field, detail })

/** Error codes of TLS failures that retrying will not fix (certificate checks, protocol mismatch). */
const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "INVALID_CA",
  "HOSTNAME_MISMATCH"
])

/** What kind of failure a socket error is. */
const failureOf = (error: Error & { readonly code?: string }): WireFailure => {
  const code = error.code ?? ""
  if (code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") return "too-big"
  if (code.startsWith("WS_ERR_")) return "bad-frame"
  if (TLS_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_")) return "tls"
  return "io"
}

/**
 * Frames from the dialing side go unmasked (a zero masking key, which `ws` skips): masking guards
 * intermediaries against bytes a browser script chose, while a node writes only its own JSON frames (no raw
 * CR or LF can appear in them), and copying every frame through a mask cost about a seventh of a send's CPU.
 */
const zeroMask = (mask: Uint8Array): void => {
  mask.fill(0)
}

/**
 * Whether nothing listens at a URL's host and port: a TCP connect refused (`true`), told to `done`; a connection
 * that opens is closed at once, and one that fails otherwise or takes longer than `timeoutMs` tells `false`.
 */
const probe = (url: string, timeoutMs: number, done: (refused: boolean) => void): void => {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  if (parsed === undefined) {
    done(false)
    return
  }
  const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname
  const port = Number(parsed.port || (parsed.protocol === "wss:" ? 443 : 80))
  const socket = Net.connect({ host, port })
  let told = false
  const tell = (refused: boolean) => {
    if (told) return
    told = true
    socket.destroy()
    done(refused)
  }
  socket.once("connect", () => tell(false))
  socket.once("error", (error: Error & { readonly code?: string }) => tell(error.code === "ECONNREFUSED"))
  socket.setTimeout(timeoutMs, () => tell(false))
}

/**
 * Tells the engine of every read on the socket under a WebSocket (`raw`): a message of several MB arrives over many
 * reads, and its peer is heard while it does (see `Connection.read`). A listener call a read, not a message.
 */
const hear = (raw: Duplex, events: () => WireEvents | undefined): void => {
  raw.on("data", () => events()?.read())
}

/** Hands a socket's events to the engine; it sends through `sender` (see internal/wsWrite.ts). */
const wire = (
  socket: Socket,
  sender: WsWrite.Sender,
  events: () => WireEvents | undefined,
  remoteAddress: string | undefined,
  peerCertificateName: () => string | undefined,
  peerIp: () => string | undefined
) => {
  socket.on("message", (data, isBinary) => events()?.message(data as Buffer, isBinary))
  socket.on("close", (code, reason) => events()?.closed(code, reason.toString("utf8")))
  socket.on("error", (error: Error) => events()?.failed(error, failureOf(error)))
  const result: Wire = {
    send: (data, done, room) => sender.send(data, done, room),
    headerRoom: WsWrite.headerRoom(sender.masked),
    bufferedAmount: () => socket.bufferedAmount,
    close: (code, reason) => socket.close(code, reason),
    terminate: () => socket.terminate(),
    remoteAddress,
    peerCertificateName,
    peerIp
  }
  return result
}

/** Checks the TLS and authentication options; says what to change. */
const checkSecurity = (options: Options): TransportStartError | undefined => {
  const tls = options.tls
  if ((tls?.cert === undefined) !== (tls?.key === undefined)) {
    return startError(tls?.cert === undefined ? "tls.cert" : "tls.key", "give both a certificate and its key")
  }
  const unusable = checkTlsMaterial(tls)
  if (unusable !== undefined) return unusable
  if (options.secret === undefined && !isMutual(tls) && options.insecureNoAuth !== true) {
    return startError(
      "secret",
      "no secret: give every node the same secret of at least 16 characters (or use mutual TLS: tls.cert, " +
        "tls.key and tls.ca); to run an open node for an experiment on one machine, set insecureNoAuth: true"
    )
  }
  return undefined
}

/**
 * Loads the certificate and key once at start, so a file that is not PEM (or a key that is not the certificate's)
 * is a start error naming the option, not a defect thrown when the server is made or when a peer is first dialed.
 */
const checkTlsMaterial = (tls: Tls | undefined): TransportStartError | undefined => {
  if (tls === undefined) return undefined
  const tries: ReadonlyArray<readonly [string, string, NodeTls.SecureContextOptions]> = [
    ["tls.cert", "is not a PEM certificate", { cert: tls.cert }],
    ["tls.key", "is not a PEM private key (or its passphrase is wrong)", { key: tls.key, passphrase: tls.passphrase }],
    ["tls.key", "does not belong to tls.cert", { cert: tls.cert, key: tls.key, passphrase: tls.passphrase }],
    ["tls", "cannot be used", tls]
  ]
  for (const [field, what, material] of tries) {
    try {
      NodeTls.createSecureContext(material)
    } catch (error) {
      return startError(field, `${field} ${what}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return undefined
}

const isMutual = (tls: Tls | undefined): boolean =>
  tls?.ca !== undefined && tls.cert !== undefined && tls.key !== undefined && tls.rejectUnauthorized !== false

/**
 * Starts a WebSocket node for as long as the scope lives. Its address is its URL when it listens.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Service, TransportStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const resolved = resolve(options)
    if (Result.isFailure(resolved)) return yield* resolved.failure
    const refused = checkListen(options.listen) ?? checkAdvertisedUrl(options.advertisedUrl) ?? checkSecurity(options)
    if (refused !== undefined) return yield* refused
    const settings = resolved.success
    const tls = options.tls
    const mutual = isMutual(tls)
    const listening =
      options.listen === undefined
        ? undefined
        : yield* listen(options.listen, {
            maxPayload: settings.maxFrameBytes,
            handshakeMs: settings.handshakeMs,
            limits: settings.limits,
            https:
              tls?.cert === undefined
                ? undefined
                : {
                    ...tls,
                    requestCert: mutual,
                    rejectUnauthorized: tls.rejectUnauthorized ?? true
                  }
          })
    if (listening !== undefined && !listening.loopback && options.secret === undefined && !mutual) {
      return yield* startError(
        "insecureNoAuth",
        "a node without a secret listens on loopback only (this machine): give a secret to listen beyond it"
      )
    }
    const address = options.advertisedUrl ?? listening?.url
    const warned = new Set<string>()
    const engine = yield* EngineScope.make({
      ...settings,
      probe: (url, done) => probe(url, settings.handshakeMs, done),
      address: Option.fromNullishOr(address),
      certificateIdentity: mutual,
      dial: (url, events) => {
        const host = URL.canParse(url) ? new URL(url).hostname : ""
        if (url.startsWith("ws://") && !isLoopback(host) && !warned.has(host)) {
          warned.add(host)
          engine.log("Warn", "dialing in clear: frames can be read and altered on the way; use wss://", {
            target: url
          })
        }
        const socket = new Socket(url, {
          maxPayload: settings.maxFrameBytes,
          perMessageDeflate: false,
          skipUTF8Validation: true,
          generateMask: zeroMask,
          // no handshakeTimeout of ws's: the engine's deadline for the dial does not count this node's stalls
          ...tls
        })
        let certified: string | undefined
        // the dialing side's frames carry a zero mask; the socket the upgrade came on carries them once open
        const sender = new WsWrite.Sender(socket, undefined, true)
        let upgraded: Duplex | undefined
        let ip: string | undefined
        socket.on("upgrade", (response) => {
          certified = certificateName(response.socket)
          upgraded = response.socket
          ip = response.socket.remoteAddress
          hear(response.socket, () => events)
        })
        socket.on("open", () => {
          if (upgraded !== undefined) sender.attach(upgraded)
        })
        socket.on("open", events.opened)
        return wire(
          socket,
          sender,
          () => events,
          undefined,
          () => certified,
          () => ip
        )
      }
    })
    if (tls?.rejectUnauthorized === false) {
      engine.log(
        "Warn",
        "tls.rejectUnauthorized is false: peers' certificates are not verified, so anyone on the way can " +
          "impersonate them; give their CA as tls.ca instead",
        {}
      )
    }
    if (listening !== undefined && !listening.tls && !listening.loopback) {
      engine.log(
        "Warn",
        "listening beyond this machine without TLS: what nodes send can be read and altered on the way; " +
          "give tls.cert and tls.key to serve wss://",
        { address: listening.url }
      )
    }
    if (options.secret === undefined && !mutual) {
      engine.log("Warn", "no authentication: any peer that reaches this node may join it (insecureNoAuth)", {})
    }
    listening?.serve(engine, ({ socket, raw, remoteAddress, certificateName: name }) => {
      let events: WireEvents | undefined
      hear(raw, () => events)
      events = engine.accept(
        wire(
          socket,
          new WsWrite.Sender(socket, raw, false),
          () => events,
          remoteAddress,
          () => name,
          () => remoteAddress
        )
      )
    })
    return engine.service()
  })

/**
 * The WebSocket transport as a layer.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Transport, TransportStartError> =>
  Layer.effect(Transport, make(options))
