/**
 * Sending a frame on a `ws` socket as one write: the WebSocket header and the payload in one buffer, written to the
 * TCP (or TLS) socket under it. `ws`'s own `send` frames the same bytes through its `Sender` (a header buffer, then
 * cork, two writes, uncork and a `writev` of both): per frame that is about ten more JavaScript calls on both sides of
 * every ask's round trip, which matters most while the JIT is still warming up (see BENCHMARKS.md, the ask figure).
 *
 * Public API only: the socket under `ws` is the one the upgrade came on (`handleUpgrade`'s on the accepting side, the
 * upgrade response's on the dialing side), and a frame goes direct only when nothing can be ahead of it in `ws`: the
 * socket is open, no extension was negotiated (`perMessageDeflate` is off on both sides here, so `ws`'s `Sender`
 * never holds a frame back) and `bufferedAmount` is 0 (nothing waits in the `Sender` or the socket), and the payload
 * is small (copying it after its header is cheaper than the second write). Anything else (a busy or closing socket, a
 * large frame, a socket `ws` was not handed on upgrade) goes through `ws.send`, which also reports a send after close
 * to `done`. This transport never sends fragmented messages, so no frame of its own can fall inside one.
 */
import type { Duplex } from "node:stream"
import { WebSocket } from "ws"

/**
 * Payloads up to this many bytes are copied after their header; larger ones go through `ws.send` (no copy, and no
 * new memory: a streaming link's frames are written from its frame arena, and copying each into a fresh buffer would
 * cost page faults; asks, replies and acks are smaller).
 */
export const DIRECT_MAX_BYTES = 4 * 1024

/**
 * One binary frame of `data` (FIN set; masked with a zero key when `masked`: a client's frames must carry a mask,
 * and a zero one leaves the payload as it is, as `generateMask` in WebSocket.ts makes `ws` do).
 *
 * Bytes stored one by one (no `writeUInt16BE` and its range checks: this runs once per frame on both sides of every
 * ask), and the branches a frame of this transport takes every time first: a frame of 126 bytes or more (every ask
 * and reply) sets its 2-byte length in the branch every such frame runs, a short one (a heartbeat, an ack) only
 * skips it, so the compiled code meets no branch it has not run before when an ack or heartbeat comes after many
 * asks (it deoptimised there: see BENCHMARKS.md on the ask's cold window).
 */
export const frameOf = (data: Buffer, masked: boolean): Buffer => {
  const length = data.length
  if (length >= 65536) return longFrameOf(data, masked)
  const short = length < 126
  const lengthEnd = short ? 2 : 4
  const header = masked ? lengthEnd + 4 : lengthEnd
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x82
  frame[1] = (masked ? 0x80 : 0) + (short ? length : 126)
  if (!short) {
    frame[2] = length >>> 8
    frame[3] = length & 0xff
  }
  if (masked) {
    frame[lengthEnd] = 0
    frame[lengthEnd + 1] = 0
    frame[lengthEnd + 2] = 0
    frame[lengthEnd + 3] = 0
  }
  data.copy(frame, header)
  return frame
}

/** {@link frameOf} of 64 KiB or more: an 8-byte length (never sent direct: see {@link DIRECT_MAX_BYTES}). */
const longFrameOf = (data: Buffer, masked: boolean): Buffer => {
  const length = data.length
  const header = masked ? 14 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x82
  frame[1] = (masked ? 0x80 : 0) | 127
  frame.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2)
  frame.writeUInt32BE(length >>> 0, 6)
  if (masked) frame.writeUInt32BE(0, 10)
  data.copy(frame, header)
  return frame
}

/**
 * What sends on one `ws` socket: `raw`, the socket its upgrade came on (undefined: always `ws.send`); `masked`: this
 * side dialed (its frames carry a zero mask).
 *
 * @example
 * ```ts
 * const sender = new Sender(ws, request.socket, false) // accepting side, after handleUpgrade
 * sender.send(Buffer.from("{}"), (error) => { if (error) console.error(error) })
 * ```
 */
export class Sender {
  readonly socket: WebSocket
  readonly masked: boolean
  /** The socket under `socket`, once known to carry its frames and no extension (see {@link attach}). */
  private raw: Duplex | undefined = undefined

  constructor(socket: WebSocket, raw: Duplex | undefined, masked: boolean) {
    this.socket = socket
    this.masked = masked
    if (raw !== undefined) this.attach(raw)
  }

  /** The socket the upgrade came on (call once the WebSocket is open): used unless an extension was negotiated. */
  attach(raw: Duplex): void {
    this.raw = Object.keys(this.socket.extensions).length === 0 ? raw : undefined
  }

  /** Sends `data` as one binary frame; `done` as for `ws.send`. */
  send(data: Buffer, done: (error?: Error | null) => void): void {
    const raw = this.raw
    const socket = this.socket
    if (
      raw !== undefined &&
      data.length <= DIRECT_MAX_BYTES &&
      socket.readyState === WebSocket.OPEN &&
      socket.bufferedAmount === 0
    ) {
      raw.write(frameOf(data, this.masked), done)
      return
    }
    socket.send(data, done)
  }
}
