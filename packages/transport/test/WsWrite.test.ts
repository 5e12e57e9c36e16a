/**
 * A frame sent as one write (`internal/wsWrite.ts`): `ws` on the other side reads it as the same binary message, from
 * either side (the dialing side's frames carry a zero mask), at every length encoding; large frames, a socket that
 * is closing, a socket with bytes still buffered and a socket not handed over on upgrade go through `ws.send`.
 */

import type { Duplex } from "node:stream"
import { assert, describe, it } from "@effect/vitest"
import * as Ws from "ws"
import { WebSocket, WebSocketServer } from "ws"
import { DIRECT_MAX_BYTES, frameOf, headerRoom, Sender } from "../src/internal/wsWrite.ts"

interface Pair {
  readonly client: WebSocket
  readonly server: WebSocket
  /** What sends on each, as WebSocket.ts makes them (the sockets their upgrades came on, from public API). */
  readonly clientSender: Sender
  readonly serverSender: Sender
  readonly clientRaw: Duplex
  readonly serverRaw: Duplex
  readonly close: () => Promise<void>
}

/** A ws server and a client connected to it, with the options WebSocket.ts gives them. */
const connect = async (): Promise<Pair> => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false, skipUTF8Validation: true })
  await new Promise<void>((resolve) => wss.on("listening", () => resolve()))
  const accepted = new Promise<[WebSocket, Duplex]>((resolve) =>
    wss.on("connection", (ws, request) => resolve([ws, request.socket]))
  )
  const address = wss.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const client = new WebSocket(`ws://127.0.0.1:${port}`, {
    perMessageDeflate: false,
    skipUTF8Validation: true,
    generateMask: (mask) => {
      mask.fill(0)
    }
  })
  let clientRaw: Duplex | undefined
  client.on("upgrade", (response) => {
    clientRaw = response.socket
  })
  await new Promise<void>((resolve) => client.on("open", () => resolve()))
  const [server, serverRaw] = await accepted
  return {
    client,
    server,
    clientSender: new Sender(client, clientRaw, true),
    serverSender: new Sender(server, serverRaw, false),
    clientRaw: clientRaw!,
    serverRaw,
    close: async () => {
      client.terminate()
      server.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
  }
}

/** Counts the sends `ws` itself made on `socket` (the general path). */
const countWsSends = (socket: WebSocket) => {
  const counter = { n: 0 }
  const original = socket.send.bind(socket)
  socket.send = ((data: Buffer, cb: (error?: Error) => void) => {
    counter.n++
    original(data, cb)
  }) as typeof socket.send
  return counter
}

/** Sends `payloads` from `from` and resolves to what `to` read, in order, and each send's callback outcome. */
const exchange = async (from: Sender, to: WebSocket, payloads: ReadonlyArray<Buffer>) => {
  const received: Array<Buffer> = []
  const all = new Promise<void>((resolve) =>
    to.on("message", (data: Buffer, isBinary: boolean) => {
      assert.isTrue(isBinary)
      received.push(data)
      if (received.length === payloads.length) resolve()
    })
  )
  const written = payloads.map(
    (payload) => new Promise<unknown>((resolve) => from.send(payload, (error) => resolve(error ?? "ok")))
  )
  await all
  return { received, outcomes: await Promise.all(written) }
}

/** Sends one frame (`room` bytes before its payload in `data`) and resolves to what `to` read and the send's outcome. */
const sendOne = async (from: Sender, to: WebSocket, data: Buffer, room: number) => {
  const received = new Promise<Buffer>((resolve) => to.once("message", (message: Buffer) => resolve(message)))
  const outcome = await new Promise<unknown>((resolve) => from.send(data, (error) => resolve(error ?? "ok"), room))
  return { received: await received, outcome }
}

const payload = (length: number, seed: number) => {
  const buffer = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) buffer[i] = (i * 31 + seed) & 0xff
  return buffer
}

/** Lengths around each header encoding (7-bit, 16-bit) and past the direct path's limit (64-bit length too). */
const lengths = [0, 1, 125, 126, 127, 1000, 65535 >> 2, DIRECT_MAX_BYTES, DIRECT_MAX_BYTES + 1, 70_000]

describe("wsWrite", () => {
  it("frames every length as ws would read it, from the dialing side (masked) and the accepting side", async () => {
    const pair = await connect()
    try {
      for (const [from, to] of [
        [pair.clientSender, pair.server],
        [pair.serverSender, pair.client]
      ] as const) {
        const viaWs = countWsSends(from.socket)
        const payloads = lengths.map((length, i) => payload(length, i))
        const { received, outcomes } = await exchange(from, to, payloads)
        assert.deepStrictEqual(
          received.map((b) => b.length),
          lengths
        )
        for (let i = 0; i < payloads.length; i++)
          assert.isTrue(received[i]!.equals(payloads[i]!), `length ${lengths[i]}`)
        assert.deepStrictEqual(
          outcomes,
          lengths.map(() => "ok")
        )
        // only the frames past the limit went through ws.send (the fallback); the rest as one write each
        assert.strictEqual(viaWs.n, lengths.filter((length) => length > DIRECT_MAX_BYTES).length)
      }
    } finally {
      await pair.close()
    }
  })

  it("sends a frame built with room for its header as the same bytes, written from the buffer it was built in", async () => {
    const pair = await connect()
    try {
      for (const [from, raw, to] of [
        [pair.clientSender, pair.clientRaw, pair.server],
        [pair.serverSender, pair.serverRaw, pair.client]
      ] as const) {
        // what ws and the sender hand the socket under them (ws.send writes a header and the payload: both recorded)
        const handed: Array<Buffer> = []
        const write = raw.write.bind(raw) as (chunk: Buffer, ...rest: Array<unknown>) => boolean
        raw.write = ((chunk: Buffer, ...rest: Array<unknown>) => {
          handed.push(chunk)
          return write(chunk, ...rest)
        }) as typeof raw.write
        const room = headerRoom(from.masked)
        for (const length of [0, 1, 125, 126, 127, 1000, DIRECT_MAX_BYTES, DIRECT_MAX_BYTES + 1, 65535, 65536]) {
          const data = payload(length, length)
          // the old path: the payload alone, copied after a header in a new buffer
          handed.length = 0
          const old = await sendOne(from, to, data, 0)
          const oldBytes = Buffer.concat(handed)
          assert.strictEqual(old.outcome, "ok")
          assert.isTrue(old.received.equals(data), `length ${length}`)
          // the new path: the payload `room` bytes into the buffer, garbage before it (the header must overwrite it)
          for (const spare of [room, room + 3, 3]) {
            const built = Buffer.alloc(spare + length, 0xff)
            data.copy(built, spare)
            handed.length = 0
            const { received, outcome } = await sendOne(from, to, built, spare)
            const what = `length ${length}, room ${spare}, masked ${from.masked}`
            assert.strictEqual(outcome, "ok", what)
            assert.isTrue(received.equals(data), what)
            assert.isTrue(Buffer.concat(handed).equals(oldBytes), what)
            if (length <= DIRECT_MAX_BYTES && spare !== 3) {
              // one write, of the very bytes built (no copy): the header ends where the payload starts
              assert.strictEqual(handed.length, 1, what)
              assert.strictEqual(handed[0]!.buffer, built.buffer, what)
              assert.strictEqual(handed[0]!.byteOffset + handed[0]!.length, built.byteOffset + built.length, what)
            }
          }
        }
        raw.write = write as typeof raw.write
      }
    } finally {
      await pair.close()
    }
  })

  it("writes header and payload as one buffer", () => {
    const small = frameOf(Buffer.from("hi"), false)
    assert.deepStrictEqual([...small], [0x82, 2, 0x68, 0x69])
    const masked = frameOf(Buffer.from("hi"), true)
    assert.deepStrictEqual([...masked], [0x82, 0x80 | 2, 0, 0, 0, 0, 0x68, 0x69])
    const medium = frameOf(Buffer.alloc(300), false)
    assert.deepStrictEqual([...medium.subarray(0, 4)], [0x82, 126, 1, 44])
    const large = frameOf(Buffer.alloc(70_000), true)
    assert.deepStrictEqual([...large.subarray(0, 14)], [0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70, 0, 0, 0, 0])
    assert.strictEqual(large.length, 14 + 70_000)
  })

  it("makes the bytes ws's own Sender makes, at every length encoding, masked (zero key) or not", () => {
    // ws exports its Sender (its typings do not): its static `frame` makes the header and payload it writes
    const WsSender = (Ws as unknown as { Sender: { frame: (data: Buffer, options: object) => Array<Buffer> } }).Sender
    assert.isFunction(WsSender.frame)
    const frameByWs = (data: Buffer, mask: boolean) =>
      Buffer.concat(
        WsSender.frame(data, {
          fin: true,
          opcode: 2,
          mask,
          maskBuffer: Buffer.alloc(4),
          generateMask: (key: Buffer) => key.fill(0),
          readOnly: false,
          rsv1: false
        })
      )
    // garbage left in the pool would show in a header byte frameOf forgot to set
    Buffer.allocUnsafe(1024).fill(0xff)
    for (const length of [0, 1, 2, 125, 126, 127, 255, 256, 4096, 65535, 65536, 70_000]) {
      const data = Buffer.alloc(length, 0x61)
      for (const masked of [false, true]) {
        for (let i = 0; i < 3; i++) Buffer.allocUnsafe(length + 14).fill(0xff)
        assert.deepStrictEqual(frameOf(data, masked), frameByWs(data, masked), `length ${length}, masked ${masked}`)
      }
    }
  })

  it("falls back to ws.send when the socket is closing: the send is refused with an error", async () => {
    const pair = await connect()
    try {
      const viaWs = countWsSends(pair.client)
      pair.client.close(1000, "done")
      const outcome = await new Promise<unknown>((resolve) =>
        pair.clientSender.send(Buffer.from("late"), (error) => resolve(error))
      )
      assert.instanceOf(outcome, Error)
      assert.strictEqual(viaWs.n, 1)
    } finally {
      await pair.close()
    }
  })

  it("falls back to ws.send while bytes wait in the socket, keeping the order; and without the upgrade's socket", async () => {
    const pair = await connect()
    try {
      const viaWs = countWsSends(pair.client)
      const received: Array<string> = []
      const done = new Promise<void>((resolve) =>
        pair.server.on("message", (data: Buffer) => {
          received.push(data.toString())
          if (received.length === 4) resolve()
        })
      )
      pair.clientSender.send(Buffer.from("one"), () => {}) // direct
      pair.clientRaw.cork() // what is written now waits in the socket: bufferedAmount > 0
      pair.clientSender.send(Buffer.from("two"), () => {}) // direct (nothing buffered yet), held by the cork
      pair.clientSender.send(Buffer.from("three"), () => {}) // behind "two": ws.send
      new Sender(pair.client, undefined, true).send(Buffer.from("four"), () => {}) // no raw socket: ws.send
      pair.clientRaw.uncork()
      await done
      assert.deepStrictEqual(received, ["one", "two", "three", "four"])
      assert.strictEqual(viaWs.n, 2)
    } finally {
      await pair.close()
    }
  })
})
