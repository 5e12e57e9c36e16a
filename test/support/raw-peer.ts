/**
 * A raw WebSocket peer for attack tests: it speaks the wire protocol by hand (docs/transport.md,
 * "The handshake"), so a test can do anything a hostile peer could: send garbage, a handshake with a
 * wrong secret, a stolen identity, declared timings the node should not believe, frames that never
 * acknowledge. It is written from the documentation, independently of the transport's code.
 */
import {
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID
} from "node:crypto"
import type { Duplex } from "node:stream"
import { Frame as Wire } from "@troupe/transport"
import { WebSocket } from "ws"
import { HANG_MILLIS } from "./child.ts"

export type Frame = Record<string, unknown>

export interface RawPeer {
  readonly socket: WebSocket
  /** Sends a binary message: bytes, text, or a frame as its JSON. */
  readonly send: (data: string | Buffer | Frame) => void
  /**
   * The next frame the node sent (heartbeats, acks and membership gossip skipped unless `all`), parsed; fails after
   * `timeout` ms (default: a hang, see `HANG_MILLIS`: a starved node answers seconds late).
   */
  readonly next: (options?: { readonly all?: boolean; readonly timeout?: number }) => Promise<Frame>
  /** The close code and reason, once closed. */
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>
  readonly isOpen: () => boolean
  /** Bytes of the messages received so far. */
  readonly bytesReceived: () => number
  /** The TCP socket under the WebSocket (the upgrade response's), for what `ws` would not do: see `rawClose`. */
  readonly tcp: Duplex
}

/** Opens a WebSocket to a node (fails if it cannot). */
export const open = (
  url: string,
  options: {
    readonly ca?: string | Buffer
    readonly cert?: string | Buffer
    readonly key?: string | Buffer
    readonly localAddress?: string
  } = {}
): Promise<RawPeer> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { ...options, skipUTF8Validation: true })
    const frames: Array<Frame> = []
    const waiting: Array<() => void> = []
    let close: { code: number; reason: string } | undefined
    let bytes = 0
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      socket.on("close", (code, reason) => {
        close = { code, reason: reason.toString() }
        done(close)
        for (const wake of waiting.splice(0)) wake()
      })
    })
    socket.on("message", (data) => {
      bytes += (data as Buffer).length
      let frame: Frame
      try {
        frame = JSON.parse(String(data)) as Frame
      } catch {
        frame = { type: "unparsable", text: String(data) }
      }
      frames.push(frame)
      for (const wake of waiting.splice(0)) wake()
    })
    let opened = false
    let tcp: Duplex | undefined
    socket.once("upgrade", (response) => {
      tcp = response.socket
    })
    socket.on("error", (error) => {
      if (!opened) reject(error)
    })
    socket.on("close", (code) => {
      if (!opened) reject(new Error(`closed (${code}) before it opened`))
    })
    const next = ({ all = false, timeout = HANG_MILLIS } = {}) =>
      new Promise<Frame>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`no frame within ${timeout} ms`)), timeout)
        const check = () => {
          while (frames.length > 0) {
            const frame = frames.shift()!
            if (all || (frame.type !== "heartbeat" && frame.type !== "ack" && frame.type !== "members")) {
              clearTimeout(timer)
              done(frame)
              return
            }
          }
          if (close !== undefined) {
            clearTimeout(timer)
            fail(new Error(`closed (${close.code} ${close.reason}) before a frame came`))
            return
          }
          waiting.push(check)
        }
        check()
      })
    socket.on("open", () => {
      opened = true
      resolve({
        socket,
        send: (data) =>
          socket.send(
            Buffer.isBuffer(data) ? data : Buffer.from(typeof data === "string" ? data : JSON.stringify(data))
          ),
        next,
        closed,
        isOpen: () => socket.readyState === WebSocket.OPEN,
        bytesReceived: () => bytes,
        tcp: tcp!
      })
    })
  })

/**
 * A close frame (`code`, `reason`) as a dialer sends it (masked, with a zero key), to write on `RawPeer.tcp` by hand:
 * `ws` answers a close frame with the code it received and ends the connection, so a peer that closes with a code of
 * its own and then reads nothing more (a stalled or hostile peer) is written this way.
 */
export const rawClose = (code: number, reason: string): Buffer => {
  const text = Buffer.from(reason)
  const head = Buffer.from([0x88, 0x80 + 2 + text.length, 0, 0, 0, 0, code >>> 8, code & 0xff])
  return Buffer.concat([head, text])
}

/** An incarnation's identity: its id and X25519 key pair. */
export interface Identity {
  readonly node: string
  readonly incarnation: string
  readonly privateKey: KeyObject
  readonly key: string
}

export const identity = (node: string, incarnation: string = randomUUID()): Identity => {
  const { privateKey, publicKey } = generateKeyPairSync("x25519")
  return { node, incarnation, privateKey, key: publicKey.export({ format: "jwk" }).x! }
}

const b64 = (bytes: Buffer) => bytes.toString("base64url")

/** A hello frame; `overrides` replace any field. */
export const hello = (who: Identity, overrides: Frame = {}): Frame => ({
  type: "hello",
  protocol: Wire.PROTOCOL_VERSION,
  node: who.node,
  incarnation: who.incarnation,
  key: who.key,
  nonce: b64(randomBytes(32)),
  maxFrameBytes: 4 * 1024 * 1024,
  window: 8192,
  heartbeatInterval: 1000,
  ...overrides
})

const fields = (f: Frame) => [
  f.protocol,
  f.node,
  f.incarnation,
  f.key,
  f.nonce,
  f.maxFrameBytes,
  f.window,
  f.heartbeatInterval
]

/** The handshake key, as docs/transport.md defines it. */
export const handshakeKey = (secret: string | undefined, who: Identity, helloFrame: Frame, challenge: Frame) => {
  const secretKey =
    secret === undefined
      ? Buffer.alloc(0)
      : createHash("sha256").update("troupe shared secret\0").update(secret).digest()
  const publicKey = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: String(challenge.key) }, format: "jwk" })
  const shared = diffieHellman({ privateKey: who.privateKey, publicKey })
  return createHmac("sha256", secretKey)
    .update("troupe handshake 2\0")
    .update(shared)
    .update(JSON.stringify([fields(helloFrame), fields(challenge)]))
    .digest()
}

export const mac = (key: Buffer, label: string) => b64(createHmac("sha256", key).update(label).digest())

/** The next frame that matches, skipping the others (system traffic, acks, ...). */
export const nextWhere = async (peer: RawPeer, predicate: (frame: Frame) => boolean): Promise<Frame> => {
  for (;;) {
    const frame = await peer.next()
    if (predicate(frame)) return frame
  }
}

/** The next frame, or the close as `{ type: "closed", code, reason }`. */
const nextOrClose = (peer: RawPeer): Promise<Frame> =>
  peer.next().catch(() => peer.closed.then((close) => ({ type: "closed", ...close })))

/**
 * Dials as `who`: hello, challenge, proof with `secret`. Resolves with the welcome, or rejects with
 * the close the node answered with.
 */
export const join = async (
  peer: RawPeer,
  who: Identity,
  secret: string | undefined,
  overrides: Frame = {}
): Promise<{ readonly challenge: Frame; readonly welcome: Frame }> => {
  const first = hello(who, overrides)
  peer.send(first)
  const challenge = await nextOrClose(peer)
  if (challenge.type !== "challenge") throw Object.assign(new Error(`refused: ${JSON.stringify(challenge)}`), challenge)
  const key = handshakeKey(secret, who, first, challenge)
  peer.send({ type: "proof", proof: mac(key, "dialer") })
  const welcome = await nextOrClose(peer)
  if (welcome.type !== "welcome") throw Object.assign(new Error(`refused: ${JSON.stringify(welcome)}`), welcome)
  return { challenge, welcome }
}
