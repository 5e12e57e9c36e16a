import { Effect, Option } from "effect"
import { ActorAddress, Envelope, InProcess, NodeId, WebSocket } from "./src/index.ts"

const run = (kind: string) => Effect.gen(function* () {
  let a, b
  if (kind === "inproc") {
    const network = InProcess.makeNetwork()
    a = yield* InProcess.make(network, { node: "a" })
    b = yield* InProcess.make(network, { node: "b" })
  } else {
    a = yield* WebSocket.make({ node: "a", listen: { port: 0 }, secret: "x" })
    b = yield* WebSocket.make({ node: "b", listen: { port: 0 }, secret: "x" })
  }
  const peer = yield* b.connect(Option.getOrThrow(a.address))
  console.log("connected", peer)
  const to = ActorAddress.make(NodeId.make("a"), "/x")
  const N = 100000
  const t0 = performance.now()
  const sender = yield* Effect.forkChild(Effect.gen(function* () {
    for (let i = 1; i <= N; i++) yield* b.send(peer.node, Envelope.make({ kind: "tell", to, payload: { i } }))
  }))
  let got = 0
  let expect = 1
  while (got < N) {
    const batch = yield* a.receive
    for (const d of batch) {
      const i = (d.envelope.payload as { i: number }).i
      if (i !== expect) throw new Error(`order ${i} vs ${expect}`)
      expect++
      got++
    }
  }
  console.log(kind, "received", got, "in", (performance.now() - t0).toFixed(0), "ms", yield* a.stats, yield* b.stats)
}).pipe(Effect.scoped)
await Effect.runPromise(run("inproc"))
await Effect.runPromise(run("ws"))
