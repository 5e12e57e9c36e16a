/**
 * A frame sent as one write (`internal/wsWrite.ts`): `ws` on the other side reads it as the same binary message, from
 * either side (the dialing side's frames carry a zero mask), at every length encoding; large frames, a socket that
 * is closing and a `ws` whose sender is busy go through `ws.send` instead.
 */
import { assert, describe, it } from "@effect/vitest"
import { WebSocket, WebSocketServer } from "ws"
import { DIRECT_MAX_BYTES, frameOf, send } from "../src/internal/wsWrite.ts"

interface Pair {
  readonly client: WebSocket
  readonly server: WebSocket
  readonly close: () => Promise<void>
}

/** A ws server and a client connected to it, with the options WebSocket.ts gives them. */
const connect = async (): Promise<Pair> => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false, skipUTF8Validation: true })
  await new Promise<void>((resolve) => wss.on("listening", () => resolve()))
  const accepted = new Promise<WebSocket>((resolve) => wss.on("connection", resolve))
  const address = wss.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const client = new WebSocket(`ws://127.0.0.1:${port}`, {
    perMessageDeflate: false,
    skipUTF8Validation: true,
    generateMask: (mask) => {
      mask.fill(0)
    }
  })
  await new Promise<void>((resolve) => client.on("open", () => resolve()))
  const server = await accepted
  return {
    client,
    server,
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
const exchange = async (from: WebSocket, masked: boolean, to: WebSocket, payloads: ReadonlyArray<Buffer>) => {
  const received: Array<Buffer> = []
  const all = new Promise<void>((resolve) =>
    to.on("message", (data: Buffer, isBinary: boolean) => {
      assert.isTrue(isBinary)
      received.push(data)
      if (received.length === payloads.length) resolve()
    })
  )
  const written = payloads.map(
    (payload) => new Promise<unknown>((resolve) => send(from, masked, payload, (error) => resolve(error ?? "ok")))
  )
  await all
  return { received, outcomes: await Promise.all(written) }
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
      for (const [from, masked, to] of [
        [pair.client, true, pair.server],
        [pair.server, false, pair.client]
      ] as const) {
        const viaWs = countWsSends(from)
        const payloads = lengths.map((length, i) => payload(length, i))
        const { received, outcomes } = await exchange(from, masked, to, payloads)
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

  it("falls back to ws.send when the socket is closing: the send is refused with an error", async () => {
    const pair = await connect()
    try {
      const viaWs = countWsSends(pair.client)
      pair.client.close(1000, "done")
      const outcome = await new Promise<unknown>((resolve) =>
        send(pair.client, true, Buffer.from("late"), (error) => resolve(error))
      )
      assert.instanceOf(outcome, Error)
      assert.strictEqual(viaWs.n, 1)
    } finally {
      await pair.close()
    }
  })

  it("falls back to ws.send while ws's sender is mid-message: what ws.send would do, not a frame in between", async () => {
    const pair = await connect()
    try {
      const viaWs = countWsSends(pair.client)
      const received: Array<string> = []
      const done = new Promise<void>((resolve) =>
        pair.server.on("message", (data: Buffer) => {
          received.push(data.toString())
          if (received.length === 2) resolve()
        })
      )
      // the first fragment of a message is out: ws.send makes the next send its last fragment (a frame written
      // directly there would be a new message inside a fragmented one, which the peer refuses)
      pair.client.send(Buffer.from("frag-"), { fin: false, binary: true })
      send(pair.client, true, Buffer.from("after"), () => {})
      pair.client.send(Buffer.from("ment"), { binary: true })
      await done
      assert.deepStrictEqual(received, ["frag-after", "ment"])
      assert.strictEqual(viaWs.n, 3)
    } finally {
      await pair.close()
    }
  })
})
