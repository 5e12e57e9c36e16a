/**
 * One side of a transport baseline (see `transport-baseline.ts`), run as its own process:
 *
 *   node bench/transport-baseline-child.ts '{"role":"raw-receiver","messages":100000}'
 *
 * Servers print `{"ready": url}`; whoever measures prints `{"result": ...}`. Logs go to stderr.
 */
import { ActorAddress, Envelope, Frame, NodeId, type Transport, WebSocket } from "@troupe/transport"
import { Effect, Logger, Option, type Scope } from "effect"
import { WebSocket as RawSocket, WebSocketServer } from "ws"

interface Role {
  readonly role: string
  readonly url?: string
  readonly messages?: number
  readonly samples?: number
  /** Echo clients: round trips before the measured ones (500 by default). */
  readonly warmup?: number
  readonly payload?: unknown
}

const MAX_FRAME = 4 * 1024 * 1024
/** The transport's write threshold (see the engine): frames are batched while more is queued. */
const HIGH_WATER = 64 * 1024
/** The transport's frame limits (see its link): a quarter of its default window, and 120 KiB of envelopes. */
const FRAME_ENVELOPES = 8192 / 4
const FRAME_BYTES = 120 * 1024

const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)

const sender = NodeId.make("sender")
const receiver = NodeId.make("receiver")
const role = JSON.parse(process.argv[2] ?? "{}") as Role

/** The envelope every baseline moves: a tell between two actors with a small payload. */
const envelope = (n: number, kind: Envelope.Kind = "tell", correlationId?: string) =>
  Envelope.make({
    kind,
    from: ActorAddress.make(sender, "/user/producer"),
    to: ActorAddress.make(receiver, "/user/consumer"),
    correlationId,
    payload: role.payload === undefined ? { _tag: "Tick", n } : (role.payload as Envelope.Envelope["payload"])
  })

const percentiles = (samples: Array<number>) => {
  samples.sort((a, b) => a - b)
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!
  return { samples: samples.length, p50Micros: at(0.5) * 1000, p99Micros: at(0.99) * 1000 }
}

/** Counts envelopes from the first frame to the `total`-th envelope and prints the rate. */
const meter = (total: number) => {
  let count = 0
  let bytes = 0
  let start = 0
  let startCount = 0
  let startBytes = 0
  return (envelopes: number, frameBytes: number) => {
    if (start === 0) {
      start = performance.now()
      startCount = envelopes
      startBytes = frameBytes
    }
    count += envelopes
    bytes += frameBytes
    if (count >= total) {
      const seconds = (performance.now() - start) / 1000
      print({
        result: {
          messages: count,
          messagesPerSecond: (count - startCount) / seconds,
          bytesPerSecond: (bytes - startBytes) / seconds
        }
      })
      process.exit(0)
    }
  }
}

const listenRaw = (onConnection: (socket: RawSocket) => void) => {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", maxPayload: MAX_FRAME, perMessageDeflate: false })
  server.on("connection", onConnection)
  server.on("listening", () => {
    const address = server.address()
    print({ ready: `ws://127.0.0.1:${address !== null && typeof address === "object" ? address.port : address}` })
  })
}

const connectRaw = (url: string) =>
  new Promise<RawSocket>((resolve) => {
    const socket = new RawSocket(url, { maxPayload: MAX_FRAME, perMessageDeflate: false })
    socket.on("open", () => resolve(socket))
  })

/**
 * The transport's batching, without the transport: write at once on an idle socket (unless streaming),
 * otherwise queue encoded envelopes and frame them in a microtask (or at once when a full frame waits),
 * waiting while more than 64 KiB is queued.
 */
const batcher = (socket: RawSocket) => {
  let pending: Array<string> = []
  /** Each pending envelope's bytes, plus one (its comma). */
  let sizes: Array<number> = []
  let pendingBytes = 0
  let first = 1
  let scheduled = false
  /** The last frame held more than one envelope: no lone first send per turn, as in the transport. */
  let streaming = false
  let waiting = false
  let inflight = 0
  const busy = () => socket.bufferedAmount > HIGH_WATER
  const written = () => {
    inflight--
    if (waiting && !busy()) {
      waiting = false
      flush()
    }
  }
  const flush = () => {
    scheduled = false
    write(false)
  }
  /** Writes frames of what is pending: all of it, or (`full`) only full frames. */
  const write = (full: boolean) => {
    if (pending.length === 0) return
    if (busy()) {
      waiting = true
      return
    }
    const budget = Math.min(MAX_FRAME - Frame.DATA_OVERHEAD, FRAME_BYTES)
    let next = 0
    while (next < pending.length) {
      const parts: Array<string> = []
      let size = 0
      let end = next
      while (end < pending.length) {
        const bytes = sizes[end]!
        if (parts.length > 0 && (size + bytes > budget || parts.length >= FRAME_ENVELOPES)) break
        parts.push(pending[end++]!)
        size += bytes
      }
      if (full && end === pending.length && parts.length < FRAME_ENVELOPES && size < budget) break
      next = end
      pendingBytes -= size
      inflight++
      streaming = parts.length > 1
      socket.send(Frame.encodeData(0, first, parts), written)
      first += parts.length
      if (busy()) {
        waiting = true
        break
      }
    }
    pending = pending.slice(next)
    sizes = sizes.slice(next)
  }
  const send = (json: string) => {
    const bytes = Buffer.byteLength(json) + 1
    pending.push(json)
    sizes.push(bytes)
    pendingBytes += bytes
    if (waiting) return
    if (!scheduled && !streaming && inflight === 0) {
      flush() // an idle socket gets it at once, as in the transport
      return
    }
    if (pending.length >= FRAME_ENVELOPES || pendingBytes >= FRAME_BYTES) write(true)
    if (!scheduled) {
      scheduled = true
      queueMicrotask(flush)
    }
  }
  return { send, queued: () => pending.length }
}

const raw = async (role: Role) => {
  switch (role.role) {
    case "raw-receiver": {
      const count = meter(role.messages!)
      listenRaw((socket) =>
        socket.on("message", (data: Buffer) => {
          const frame = JSON.parse(data.toString("utf8")) as { readonly envelopes: ReadonlyArray<unknown> }
          count(frame.envelopes.length, data.length)
        })
      )
      return
    }
    case "raw-sender": {
      const socket = await connectRaw(role.url!)
      const { send, queued } = batcher(socket)
      let n = 0
      const produce = () => {
        // a sender held back, like the transport's, to at most 8192 envelopes not yet written
        for (let i = 0; i < 1024 && n < role.messages! && queued() < 8192; i++) send(JSON.stringify(envelope(++n)))
        if (n < role.messages!) setImmediate(produce)
      }
      produce()
      return
    }
    case "raw-echo-server":
      listenRaw((socket) =>
        socket.on("message", (data: Buffer) => {
          const frame = JSON.parse(data.toString("utf8")) as { readonly first: number }
          socket.send(Frame.encodeData(frame.first, frame.first, [JSON.stringify(envelope(frame.first, "reply", "c"))]))
        })
      )
      return
    case "raw-echo-client": {
      const socket = await connectRaw(role.url!)
      const samples: Array<number> = []
      let resolveReply: () => void = () => {}
      socket.on("message", (data: Buffer) => {
        JSON.parse(data.toString("utf8"))
        resolveReply()
      })
      for (let n = 1; n <= (role.warmup ?? 500) + role.samples!; n++) {
        const start = performance.now()
        const reply = new Promise<void>((resolve) => {
          resolveReply = resolve
        })
        socket.send(Frame.encodeData(n - 1, n, [JSON.stringify(envelope(n, "ask", "c"))]))
        await reply
        if (n > (role.warmup ?? 500)) samples.push(performance.now() - start)
      }
      print({ result: percentiles(samples) })
      socket.terminate()
      return
    }
  }
}

const node = (options: WebSocket.Options) =>
  WebSocket.make({ ...options, secret: "the benchmark's shared secret", maxFrameBytes: MAX_FRAME })

const transport = (role: Role): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    switch (role.role) {
      case "transport-receiver": {
        const self = yield* node({ node: receiver, listen: { port: 0 } })
        print({ ready: Option.getOrThrow(self.address) })
        const count = meter(role.messages!)
        let bytes = 0
        while (true) {
          const batch = yield* self.receive
          const { bytesIn } = yield* self.stats
          count(batch.length, bytesIn - bytes)
          bytes = bytesIn
        }
      }
      case "transport-sender": {
        const self = yield* node({ node: sender })
        const peer = yield* self.connect(role.url!)
        for (let n = 1; n <= role.messages!; n++) yield* self.send(peer.node, envelope(n))
        return yield* Effect.never
      }
      case "transport-echo-server": {
        const self = yield* node({ node: receiver, listen: { port: 0 } })
        print({ ready: Option.getOrThrow(self.address) })
        while (true) {
          for (const delivery of yield* self.receive) {
            const ask = delivery.envelope
            yield* self.send(
              delivery.from,
              Envelope.make({
                kind: "reply",
                from: ask.to,
                to: ask.from!,
                correlationId: ask.correlationId,
                payload: ask.payload
              })
            )
          }
        }
      }
      case "transport-echo-client": {
        const self: Transport.Service = yield* node({ node: sender })
        const peer = yield* self.connect(role.url!)
        const samples: Array<number> = []
        for (let n = 1; n <= (role.warmup ?? 500) + role.samples!; n++) {
          const start = performance.now()
          yield* self.send(peer.node, envelope(n, "ask", String(n)))
          let replied = false
          while (!replied) {
            for (const delivery of yield* self.receive) replied ||= delivery.envelope.correlationId === String(n)
          }
          if (n > (role.warmup ?? 500)) samples.push(performance.now() - start)
        }
        print({ result: percentiles(samples) })
        return
      }
    }
  })

if (role.role.startsWith("raw-")) {
  raw(role).catch((error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  })
} else {
  Effect.runPromise(
    Effect.scoped(transport(role)).pipe(Effect.provide(Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)])))
  ).then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${String(error)}\n`)
      process.exit(1)
    }
  )
}
