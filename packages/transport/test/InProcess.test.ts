/**
 * What only the in-process network does: latency injection, and frames passing through the codec.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { ActorAddress, Envelope, InProcess, NodeId } from "../src/index.ts"
import { fast } from "./support/harness.ts"

const tell = (n: number) =>
  Envelope.make({ kind: "tell", to: ActorAddress.make(NodeId.make("b"), "/sink"), payload: { n, text: "é€😀" } })

const receive = (
  transport: { readonly receive: Effect.Effect<ReadonlyArray<{ readonly envelope: Envelope.Envelope }>> },
  count: number
) =>
  Effect.gen(function* () {
    const got: Array<Envelope.Envelope> = []
    while (got.length < count) got.push(...(yield* transport.receive).map((d) => d.envelope))
    return got
  })

describe("InProcess", () => {
  it.live("delays frames without reordering them, even when the latency changes", () =>
    Effect.gen(function* () {
      const network = InProcess.makeNetwork()
      const a = yield* InProcess.make(network, { ...fast, node: "a" })
      const b = yield* InProcess.make(network, { ...fast, node: "b" })
      yield* a.connect("b")
      yield* network.delay("a", "b", "60 millis")
      yield* a.send(NodeId.make("b"), tell(1))
      yield* network.delay("a", "b", "5 millis") // later frames must not overtake the first
      yield* a.send(NodeId.make("b"), tell(2))
      yield* network.heal
      yield* a.send(NodeId.make("b"), tell(3))
      const got = yield* receive(b, 3)
      assert.deepStrictEqual(
        got.map((e) => (e.payload as { readonly n: number }).n),
        [1, 2, 3]
      )
      // what crossed is what the wire gives: decoded JSON, with the link's sequence numbers
      assert.deepStrictEqual(got[0], { ...tell(1), seq: 1 })
    })
  )

  it.live("a crashed node stays unreachable; its replacement is a new incarnation", () =>
    Effect.gen(function* () {
      const network = InProcess.makeNetwork()
      const a = yield* InProcess.make(network, { ...fast, node: "a" })
      const b1 = yield* InProcess.make(network, {
        ...fast,
        node: "b",
        failureDetector: { _tag: "Timeout", timeout: "10 seconds" }
      })
      const first = yield* a.connect("b")
      yield* network.crash("b")
      const b2 = yield* InProcess.make(network, { ...fast, node: "b" })
      const second = yield* a
        .connect("b")
        .pipe(Effect.repeat({ until: (peer) => peer.incarnation !== first.incarnation, schedule: Schedule.spaced(10) }))
      assert.strictEqual(second.incarnation, b2.incarnation)
      assert.notStrictEqual(second.incarnation, b1.incarnation)
      // the crashed incarnation cannot reach anyone
      const stale = yield* b1.connect("a").pipe(Effect.timeoutOption(200))
      assert.isTrue(stale._tag === "None")
    })
  )
})
