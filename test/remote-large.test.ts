/**
 * A large message across real WebSockets, then small ones behind it, with nothing sent afterwards. A frame of a few
 * MiB leaves more in the socket's buffer than the 64 KiB a link writes into, so what is queued behind it waits for
 * the socket to drain. The drain alone must write it: ws reports a finished write with `null`, which the transport
 * once took for an error, so the tell and the ask behind a large tell sat unsent until the next send on that link
 * (an ask timed out after 100 s, its reply came 60 ms after the next tell). In-process links never buffer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Behavior, Protocol } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import { pair, within } from "./support/remote-work.ts"
import { topologies } from "./support/topology.ts"

const Store = Protocol.make("LargeStore", {
  Put: { n: Schema.Number, data: Schema.String },
  Count: Protocol.request({}, { success: Schema.Array(Schema.Number) })
})

const store = Behavior.make(Store, {
  initial: [] as ReadonlyArray<number>,
  receive: {
    Put: (ns, { n }) => Effect.succeed([...ns, n]),
    Count: (ns) => Effect.succeed({ state: ns, reply: ns })
  }
})

const webSocket = topologies.find((topology) => topology.name === "WebSocket")!

describe("a large message across WebSockets", () => {
  it.live("the tells and the ask queued behind a large tell are written once the socket drains", () =>
    Effect.gen(function* () {
      const { alice, bob } = pair(yield* webSocket.start(["alice", "bob"]))
      yield* alice.system.spawn(store, { name: "store" })
      const remote = yield* bob.system.lookup("/user/store", Store, { node: "alice" })
      const large = "y".repeat(2 * 1024 * 1024)
      const framesOut = Effect.map(bob.transport.stats, (stats) => stats.framesOut)
      let n = 0
      for (let round = 0; round < 3; round++) {
        // large tells until one is not written at once (the socket's buffer is full: its reader is this process,
        // busy here); then a small tell and an ask, which wait for the socket to drain
        const first = n
        for (let written = true; written && n - first < 16; ) {
          const before = yield* framesOut
          yield* remote.tell(Store.Put({ n: n++, data: large }))
          written = (yield* framesOut) > before
        }
        assert.isBelow(n - first, 16, "the socket's buffer never filled")
        yield* remote.tell(Store.Put({ n: n++, data: "" }))
        const seen = yield* within(
          15_000,
          `the ask behind ${n - first - 1} large tells (round ${round})`,
          remote.ask(Store.Count(), { timeout: "20 seconds" })
        )
        assert.deepStrictEqual(
          seen,
          Array.from({ length: n }, (_, i) => i)
        )
      }
    })
  )
})
