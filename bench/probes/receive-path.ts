/**
 * The runtime's own work per remote message, in one process and without the wire: a receiving actor system
 * on the in-process transport, whose receiver (the runtime's dispatcher) is handed the bench's tell
 * envelopes, already parsed as the transport hands them over, in batches of 2,000 (about a frame). Prints
 * per delivery: the wall ns of the median batch (dispatch, the payload's decoding, the sender ref, the
 * actor's turn), the mean (with the garbage collections and other processes' bursts that struck inside the
 * batches) and the bytes allocated (what makes the collections). Pass checkouts to compare (A/B, rounds interleaved, each round in a process of its own):
 *
 *   pnpm exec node bench/probes/receive-path.ts [pairs] [messages] [checkout...]
 *
 * `pairs` consumers (`/user/consumer-<i>`) get the messages in turn, as from as many producers; with `RUN=n`, in runs of
 * n messages per consumer (the bench's producers send runs of about 1,100).
 * `HEADS=shared` hands over envelopes whose `to`/`from` objects are shared by all envelopes of one sender and
 * recipient (as a decoder that parses a repeated head once would); by default each is parsed whole.
 * `DECODE=1` times the transport's frame decoder too: each batch is one data frame's bytes, decoded by the
 * checkout's decoder (one per run, as one connection's) and then handed over.
 */
import { execFileSync } from "node:child_process"
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { getHeapStatistics } from "node:v8"

const self = fileURLToPath(import.meta.url)
const here = fileURLToPath(new URL("../..", import.meta.url))
const BATCH = 2_000

interface Result {
  /** Wall ns per delivery: the median batch, and the mean of all. */
  readonly medianNs: number
  readonly meanNs: number
  /** Bytes allocated per delivery (the median batch's growth of the heap, batches without a collection). */
  readonly bytes: number
}

/**
 * The recipient of message `n`: in turn (`RUN` unset or 1), or in runs of `RUN` messages per recipient, as the
 * bench's producers send (each sends a run of tells per turn of its fiber: about 1,100 in a row, measured).
 */
const RUN = Number(process.env.RUN ?? 1)
const recipientOf = (n: number, pairs: number): number => Math.floor(n / RUN) % pairs

/** The envelopes of `BATCH` messages from `from` on, as the transport hands them over. */
const frame = (from: number, pairs: number, shared: boolean): Array<unknown> => {
  if (shared) {
    const heads = Array.from({ length: pairs }, (_, p) => ({
      to: Object.freeze({ node: "receiver", path: `/user/consumer-${p}` }),
      from: Object.freeze({ node: "sender", path: `/user/producer-${p}` })
    }))
    return Array.from({ length: BATCH }, (_, i) => {
      const n = from + i
      const head = heads[recipientOf(n, pairs)]!
      return { kind: "tell", to: head.to, from: head.from, payload: JSON.parse(`{"_tag":"Tick","n":${n}}`), seq: n + 1 }
    })
  }
  const parts: Array<string> = []
  for (let i = 0; i < BATCH; i++) {
    const n = from + i
    const p = recipientOf(n, pairs)
    parts.push(
      `{"kind":"tell","to":{"node":"receiver","path":"/user/consumer-${p}"},"from":{"node":"sender","path":"/user/producer-${p}"},"payload":{"_tag":"Tick","n":${n}},"seq":${n + 1}}`
    )
  }
  return JSON.parse(`[${parts.join(",")}]`) as Array<unknown>
}

/** The bytes of the data frame of `BATCH` messages from `from` on, as the sender writes it. */
const frameBytes = (from: number, pairs: number): Buffer => {
  const parts: Array<string> = []
  for (let i = 0; i < BATCH; i++) {
    const n = from + i
    const p = recipientOf(n, pairs)
    parts.push(
      `{"kind":"tell","to":{"node":"receiver","path":"/user/consumer-${p}"},"payload":{"_tag":"Tick","n":${n}},"from":{"node":"sender","path":"/user/producer-${p}"}}`
    )
  }
  return Buffer.from(`{"type":"data","ack":0,"first":${from + 1},"envelopes":[${parts.join(",")}]}`)
}

interface Decoder {
  decode(bytes: Uint8Array, isBinary: boolean): unknown
}

/**
 * Hands the envelopes over batch by batch, timing only the handing over: to a receiver that takes the sender's
 * peer and the envelope, or (checkouts before that) a delivery object made per envelope, as their transport did.
 */
const measure = (
  deliver: (...args: Array<unknown>) => void,
  incarnation: string,
  pairs: number,
  messages: number,
  decoder: Decoder | undefined
): Result => {
  const shared = process.env.HEADS === "shared"
  const peer = { node: "sender", incarnation }
  const perPeer = deliver.length >= 2
  const walls: Array<number> = []
  const grown: Array<number> = []
  for (let done = 0; done < messages; done += BATCH) {
    const bytes = decoder === undefined ? undefined : frameBytes(done, pairs)
    const parsed = bytes === undefined ? frame(done, pairs, shared) : undefined
    const heap0 = getHeapStatistics().used_heap_size
    const t0 = performance.now()
    const envelopes =
      parsed ?? (decoder!.decode(bytes!, true) as { success: { envelopes: Array<unknown> } }).success.envelopes
    if (perPeer) for (let i = 0; i < envelopes.length; i++) deliver(peer, envelopes[i])
    else for (let i = 0; i < envelopes.length; i++) deliver({ from: "sender", incarnation, envelope: envelopes[i] })
    const t1 = performance.now()
    const heap1 = getHeapStatistics().used_heap_size
    walls.push(((t1 - t0) * 1e6) / envelopes.length)
    if (heap1 >= heap0) grown.push((heap1 - heap0) / envelopes.length)
  }
  const mean = walls.reduce((a, b) => a + b, 0) / walls.length
  walls.sort((a, b) => a - b)
  grown.sort((a, b) => a - b)
  return { medianNs: walls[walls.length >> 1]!, meanNs: mean, bytes: grown[grown.length >> 1] ?? Number.NaN }
}

const child = async (root: string, pairs: number, messages: number): Promise<Result> => {
  const { Effect, Schema } = await import(`${root}/node_modules/effect/dist/index.js`)
  const { ActorSystem, Behavior, Protocol } = await import(`${root}/packages/runtime/src/index.ts`)
  const { InProcess, Transport } = await import(`${root}/packages/transport/src/index.ts`)
  const Consumer = Protocol.make("Consumer", { Tick: { n: Schema.Number } })
  let received = 0
  const consumer = Behavior.make(Consumer, {
    initial: 0,
    receive: {
      Tick: (count: number) => {
        received++
        return Effect.succeed(count + 1)
      }
    }
  })
  const result: Result = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const network = InProcess.makeNetwork()
        const inner = yield* InProcess.make(network, { node: "receiver" })
        let receiver: { deliver: (...args: Array<unknown>) => void } | undefined
        const transport = {
          ...inner,
          receiveWith: (r: { deliver: (...args: Array<unknown>) => void }) => {
            receiver = r
            return inner.receiveWith(r)
          }
        }
        const actors = yield* ActorSystem.make({ name: "receiver" }).pipe(
          Effect.provideService(Transport.Transport, transport)
        )
        for (let i = 0; i < pairs; i++) yield* actors.spawn(consumer, { name: `consumer-${i}` })
        const sender = yield* InProcess.make(network, { node: "sender" })
        const peer = yield* sender.connect("receiver")
        // the receiver's side of the link is up once it has the sender's incarnation
        const incarnation: string = ((yield* inner.peers) as Array<{ incarnation: string }>)[0]?.incarnation
        if (incarnation === undefined) throw new Error(`no link to ${peer.node}`)
        const decoder =
          process.env.DECODE === undefined
            ? undefined
            : (new (yield* Effect.promise(
                () => import(`${root}/packages/transport/src/internal/frameDecoder.ts`)
              )).FrameDecoder() as Decoder)
        return measure(receiver!.deliver, incarnation, pairs, messages, decoder)
      })
    )
  )
  if (received !== messages) throw new Error(`handled ${received} of ${messages}`)
  return result
}

if (process.argv[2] === "--child") {
  const [, , , root, pairs, messages] = process.argv
  const result = await child(root!, Number(pairs), Number(messages))
  process.stdout.write(`\n${JSON.stringify(result)}\n`)
} else {
  const pairs = process.argv[2] ?? "1"
  const messages = process.argv[3] ?? "1000000"
  const roots = process.argv.length > 4 ? process.argv.slice(4) : [here]
  const rounds = Number(process.env.ROUNDS ?? 5)
  const results = roots.map(() => [] as Array<Result>)
  for (let round = 0; round < rounds; round++) {
    for (let r = 0; r < roots.length; r++) {
      const out = execFileSync(process.execPath, [self, "--child", roots[r]!, pairs, messages], { encoding: "utf8" })
      const result = JSON.parse(out.trim().split("\n").at(-1)!) as Result
      results[r]!.push(result)
      console.log(
        `${r} ${roots[r]} pairs ${pairs}: ${result.medianNs.toFixed(0)} ns/delivery (median batch), mean ${result.meanNs.toFixed(0)}, ${result.bytes.toFixed(0)} bytes; load ${loadavg()[0]!.toFixed(1)}`
      )
    }
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  for (let r = 0; r < roots.length; r++) {
    const all = results[r]!
    console.log(
      `median ${roots[r]}: ${median(all.map((x) => x.medianNs)).toFixed(0)} ns/delivery (median batch), mean ${median(all.map((x) => x.meanNs)).toFixed(0)}, ${median(all.map((x) => x.bytes)).toFixed(0)} bytes`
    )
  }
}
