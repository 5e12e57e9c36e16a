/**
 * What shows a peer alive besides its heartbeats, on both transports: frames read from a peer whose heartbeats do not
 * arrive in time count as heartbeats at the failure detector's check (at most one per interval), so a peer whose data
 * flows is not declared down, and a peer that sends nothing but late heartbeats still is.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Peer } from "../src/index.ts"
import { awaitEvent, type Harness, inProcess, webSocket } from "./support/harness.ts"
import { downs, range, receiveMany, sendMany } from "./support/traffic.ts"

const suite = (make: () => Harness) =>
  describe(make().kind, () => {
    it.live("a peer whose data flows is not declared down without heartbeats; once silent, it is", () =>
      Effect.gen(function* () {
        const h = make()
        // a's heartbeats come every 2 s, later than b's detector gives up (1.5 s): as heartbeats lost, or queued
        // behind data on a starved machine; the connection is never cut (no handshake shows a alive meanwhile).
        // b's verdict is the one under test: a's own detector waits long (the suite's 600 ms fooled on a loaded
        // machine once, and a's verdict closed the link with a quarantine that b reported as "refused")
        const a = yield* h.node("a", {
          heartbeatInterval: "2 seconds",
          failureDetector: { _tag: "Timeout", timeout: "60 seconds" }
        })
        const b = yield* h.node("b", { failureDetector: { _tag: "Timeout", timeout: "1500 millis" } })
        const events = yield* b.transport.subscribe
        yield* h.connect(a, b)
        // 3 s of data from a, one envelope every 100 ms: twice b's timeout
        for (let n = 1; n <= 30; n++) {
          yield* sendMany(a, b, 1, n)
          yield* Effect.sleep(100)
        }
        assert.deepStrictEqual(yield* receiveMany(b, 30), range(1, 30))
        assert.strictEqual(yield* downs(events), 0)
        // what its data shows does not hide a silent peer: with only its late heartbeats, a is declared down
        const down = yield* awaitEvent(events, Peer.isPeerDown)
        assert.deepStrictEqual([down.node, down.reason], ["a", "unreachable"])
      })
    )
  })

suite(inProcess)
suite(webSocket)
