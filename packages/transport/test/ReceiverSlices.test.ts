/**
 * A receiver's work is bounded per loop turn (`internal/inbound.ts`): once envelopes were handed over for a few
 * milliseconds in one turn, the rest of a frame, and the frames and peer events after it, wait for the next turns, in
 * the order they came, acknowledged only as they are handed over. A burst of sessions' replies (each ending a session
 * in its receiver's call) kept a starter's loop from turning for 100 ms and more in one socket read: no heartbeat, no
 * timer, no other socket meanwhile.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { eventually, type Harness, inProcess, webSocket } from "./support/harness.ts"
import { linkTo, range, sendMany } from "./support/traffic.ts"

/** Keeps this thread busy for `ms` (a receiver that works on each envelope). */
const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until) {}
}

const suite = (make: () => Harness) =>
  describe(make().kind, () => {
    it.live("a slow receiver takes a burst in slices, the loop turning between them, in order, each acknowledged", () =>
      Effect.gen(function* () {
        const h = make()
        const a = yield* h.node("slice-a")
        const b = yield* h.node("slice-b")
        yield* h.connect(a, b)
        // the loop's turns, counted by a chain of immediates (one per turn)
        let turns = 0
        let spinning = true
        const spin = () => {
          turns++
          if (spinning) setImmediate(spin)
        }
        setImmediate(spin)
        const heard: Array<number | string> = []
        const perTurn = new Map<number, number>()
        yield* b.transport.receiveWith({
          deliver: (_, envelope) => {
            heard.push((envelope.payload as { readonly n: number }).n)
            perTurn.set(turns, (perTurn.get(turns) ?? 0) + 1)
            busy(0.5)
          },
          peer: (event) => heard.push(`${event._tag} ${event.node}`)
        })
        const count = 400
        yield* sendMany(a, b, count)
        yield* eventually(
          Effect.sync(() => heard.length),
          (n) => n === count + 1
        )
        // the sender's buffer empties: every envelope was acknowledged once handed over
        yield* eventually(linkTo(a, "slice-b"), (link) => link?.unacknowledged === 0)
        yield* a.stop
        yield* eventually(
          Effect.sync(() => heard.at(-1)),
          (last) => last === "PeerDown slice-a"
        )
        spinning = false
        assert.deepStrictEqual(heard, ["PeerUp slice-a", ...range(1, count), "PeerDown slice-a"])
        // 16 envelopes before the turn's clock opens, then 5 ms of 0.5 ms envelopes, checked every 16, and a turn may
        // hold the end of one slice and the next: at most 2 x (16 + 10 + 16); on e981ee8 a frame's envelopes were all
        // handed over in one socket read (400 in one turn)
        const most = Math.max(...perTurn.values())
        assert.isAtMost(most, 84, `most envelopes handed over in one turn: ${most}`)
      })
    )

    it.live(
      "a receiver removed while envelopes wait for it leaves them queued for receive, in order, after what it took",
      () =>
        Effect.gen(function* () {
          const h = make()
          const a = yield* h.node("order-a")
          const b = yield* h.node("order-b")
          yield* h.connect(a, b)
          const heard: Array<number | string> = []
          const registered = yield* Effect.scoped(
            Effect.gen(function* () {
              yield* b.transport.receiveWith({
                deliver: (_, envelope) => {
                  heard.push((envelope.payload as { readonly n: number }).n)
                  busy(1)
                },
                peer: (event) => heard.push(`${event._tag} ${event.node}`)
              })
              yield* sendMany(a, b, 200)
              // some handed over, the rest waiting for the next turns when the receiver goes
              yield* eventually(
                Effect.sync(() => heard.length),
                (n) => n > 1
              )
              return heard.length
            })
          )
          assert.isAbove(registered, 1)
          assert.isBelow(registered, 201, "the receiver went while envelopes waited for it")
          // what waited is queued for receive, in order, after what the receiver took
          const rest: Array<number> = []
          while (heard.length - 1 + rest.length < 200) {
            for (const delivery of yield* b.transport.receive)
              rest.push((delivery.envelope.payload as { readonly n: number }).n)
          }
          assert.deepStrictEqual([...heard.slice(1), ...rest], range(1, 200))
          yield* eventually(linkTo(a, "order-b"), (link) => link?.unacknowledged === 0)
        })
    )
  })

suite(inProcess)
suite(webSocket)
