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
 *
 * A link builds its data frames (every ask and reply) with room for the header in front (`Wire.headerRoom`): the
 * header is written there and the frame goes out from the buffer it was built in, with no copy (before, each frame
 * was allocated twice, in the link's resend buffer and again after its header here).
 */
import type { Duplex } from "node:stream"
import { WebSocket } from "ws"

/**
 * Payloads up to this many bytes are sent direct (their header written in the room left for it, or the payload copied
 * after it); larger ones go through `ws.send` (no copy, and no
 * new memory: a streaming link's frames are written from its frame arena, and copying each into a fresh buffer would
 * cost page faults; asks, replies and acks are smaller).
 */
export const DIRECT_MAX_BYTES = 4 * 1024

/**
 * Bytes a caller leaves in front of a frame's payload for its header (see {@link Sender.send}): the header of a
 * payload of 126 bytes to {@link DIRECT_MAX_BYTES} (every ask and reply), with its zero mask when `masked`. A
 * shorter payload's header is 2 bytes shorter: it is written at the end of the room.
 */
export const headerRoom = (masked: boolean): number => (masked ? 8 : 4)

/**
 * Writes the header of a binary frame of `length` payload bytes (under 64 KiB) into `frame` from `at`: FIN set,
 * masked with a zero key when `masked` (a client's frames must carry a mask, and a zero one leaves the payload as it
 * is, as `generateMask` in WebSocket.ts makes `ws` do). Returns where the payload starts.
 *
 * Bytes stored one by one (no `writeUInt16BE` and its range checks: this runs once per frame on both sides of every
 * ask), and the branches a frame of this transport takes every time first: a frame of 126 bytes or more (every ask
 * and reply) sets its 2-byte length in the branch every such frame runs, a short one (a heartbeat, an ack) only
 * skips it, so the compiled code meets no branch it has not run before when an ack or heartbeat comes after many
 * asks (it deoptimised there: see BENCHMARKS.md on the ask's cold window).
 */
const writeHeader = (frame: Buffer, at: number, length: number, masked: boolean): number => {
  const short = length < 126
  const lengthEnd = at + (short ? 2 : 4)
  frame[at] = 0x82
  frame[at + 1] = (masked ? 0x80 : 0) + (short ? length : 126)
  if (!short) {
    frame[at + 2] = length >>> 8
    frame[at + 3] = length & 0xff
  }
  if (!masked) return lengthEnd
  frame[lengthEnd] = 0
  frame[lengthEnd + 1] = 0
  frame[lengthEnd + 2] = 0
  frame[lengthEnd + 3] = 0
  return lengthEnd + 4
}

/** Bytes of the header {@link writeHeader} writes for a payload of `length` bytes (under 64 KiB). */
const headerBytes = (length: number, masked: boolean): number => (length < 126 ? 2 : 4) + (masked ? 4 : 0)

/** One binary frame of `data`: a new buffer, its header (see {@link writeHeader}), then a copy of `data`. */
export const frameOf = (data: Buffer, masked: boolean): Buffer => {
  const length = data.length
  if (length >= 65536) return longFrameOf(data, masked)
  const frame = Buffer.allocUnsafe(headerBytes(length, masked) + length)
  data.copy(frame, writeHeader(frame, 0, length, masked))
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

  /**
   * Sends `data` as one binary frame; `done` as for `ws.send`. With `room`, the payload is `data.subarray(room)` and
   * the bytes before it are free: a frame sent direct gets its header written there (see {@link headerRoom}), so
   * the frame goes out from the buffer it was built in, with no copy and no second buffer.
   */
  send(data: Buffer, done: (error?: Error | null) => void, room = 0): void {
    const raw = this.raw
    const socket = this.socket
    const length = data.length - room
    if (
      raw !== undefined &&
      length <= DIRECT_MAX_BYTES &&
      socket.readyState === WebSocket.OPEN &&
      socket.bufferedAmount === 0
    ) {
      const start = room - headerBytes(length, this.masked)
      if (start >= 0) {
        writeHeader(data, start, length, this.masked)
        raw.write(start === 0 ? data : data.subarray(start), done)
      } else raw.write(frameOf(room === 0 ? data : data.subarray(room), this.masked), done)
      return
    }
    socket.send(room === 0 ? data : data.subarray(room), done)
  }
}
