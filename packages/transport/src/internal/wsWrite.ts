/**
 * Sending a frame on a `ws` socket as one write: the WebSocket header and the payload in one buffer, written to the
 * TCP (or TLS) socket under it. `ws`'s own `send` frames the same bytes through its `Sender` (a header buffer, then
 * cork, two writes, uncork and a `writev` of both): per frame that is about ten more JavaScript calls on both sides of
 * every ask's round trip, which matters most while the JIT is still warming up (see BENCHMARKS.md, the ask figure).
 *
 * Only a plain case takes this path: the socket is open, `ws`'s sender is idle (nothing queued, no fragmented message
 * under way: with `perMessageDeflate` off and no `Blob` ever sent, as here, it always is) and the payload is small
 * (copying it is cheaper than the second write). Anything else (closing, a large frame, a `ws` whose internals differ
 * from what is read here) goes through `ws.send`, which also reports a send after close to `done`.
 */
import type { Socket as NetSocket } from "node:net"
import { WebSocket } from "ws"

/** Payloads up to this many bytes are copied after their header; larger ones go through `ws.send` (no copy). */
export const DIRECT_MAX_BYTES = 16 * 1024

/** What is read of `ws`'s internals (all optional: a `ws` without them takes the general path). */
interface Internals {
  readonly _socket?: NetSocket | null
  readonly _sender?: { readonly _state?: number; readonly _firstFragment?: boolean } | null
}

/**
 * One binary frame of `data` (FIN set; masked with a zero key when `masked`: a client's frames must carry a mask,
 * and a zero one leaves the payload as it is, as `generateMask` in WebSocket.ts makes `ws` do).
 */
export const frameOf = (data: Buffer, masked: boolean): Buffer => {
  const length = data.length
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8
  const header = 2 + lengthBytes + (masked ? 4 : 0)
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x82
  const mask = masked ? 0x80 : 0
  if (lengthBytes === 0) frame[1] = mask | length
  else if (lengthBytes === 2) {
    frame[1] = mask | 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = mask | 127
    frame.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
  if (masked) frame.writeUInt32BE(0, header - 4)
  data.copy(frame, header)
  return frame
}

/**
 * Sends `data` as one binary frame on `socket`: written at once as one buffer when the case is plain (see above),
 * else by `ws.send`. `masked`: this side dialed (its frames carry a zero mask). `done` as for `ws.send`.
 *
 * @example
 * ```ts
 * send(socket, false, Buffer.from("{}"), (error) => { if (error) console.error(error) })
 * ```
 */
export const send = (socket: WebSocket, masked: boolean, data: Buffer, done: (error?: Error | null) => void): void => {
  if (data.length <= DIRECT_MAX_BYTES && socket.readyState === WebSocket.OPEN) {
    const { _socket: stream, _sender: sender } = socket as unknown as Internals
    if (stream != null && sender != null && sender._state === 0 && sender._firstFragment === true) {
      stream.write(frameOf(data, masked), done)
      return
    }
  }
  socket.send(data, done)
}
