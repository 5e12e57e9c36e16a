/**
 * How a link lets in the sends that waited for room in its window: in the order they waited, and at most a frame's
 * worth in one loop turn, the rest on the next ones (so that a node refilling a window for many senders reads its
 * socket between the frames it writes, as one sender refilling it through its fiber's turns does).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { NodeId } from "../src/index.ts"
import { type Harness, inProcess, webSocket } from "./support/harness.ts"
import { range, receiveMany, sendMany, tell } from "./support/traffic.ts"

const suite = (make: () => Harness) =>
  describe(make().kind, () => {
    it.live("an ack lets in a frame's worth of waiting sends in its loop turn, the rest on later turns, in order", () =>
      Effect.gen(function* () {
        const h = make()
        const CAPACITY = 64
        const WAITING = 120
        const a = yield* h.node("a", { resendBuffer: { capacity: CAPACITY } })
        const b = yield* h.node("b")
        yield* h.connect(a, b)
        yield* sendMany(a, b, CAPACITY) // the window is full: b consumes nothing yet
        /** The waiting sends let in, in the order they were; and how many were let in per call (no microtask between). */
        const admitted: Array<number> = []
        const perCall: Array<number> = []
        let inCall = false
        for (let n = 1; n <= WAITING; n++) {
          const waiting = a.transport.offer(NodeId.make("b"), tell(b, CAPACITY + n), (error) => {
            assert.isUndefined(error)
            admitted.push(n)
            if (!inCall) {
              inCall = true
              perCall.push(0)
              queueMicrotask(() => {
                inCall = false
              })
            }
            perCall[perCall.length - 1]!++
          })
          assert.isFunction(waiting, `send ${n} waits for room`)
        }
        assert.deepStrictEqual(yield* receiveMany(b, CAPACITY + WAITING), range(1, CAPACITY + WAITING))
        assert.deepStrictEqual(admitted, range(1, WAITING))
        // a data frame holds at most a quarter of the window: a call lets in that many (an ack frees up to all of it)
        assert.isAtMost(Math.max(...perCall), CAPACITY / 4, `let in per call: ${perCall}`)
      })
    )
  })

suite(inProcess)
suite(webSocket)
