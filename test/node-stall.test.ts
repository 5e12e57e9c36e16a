/**
 * A node whose event loop stalls (a synchronous busy loop in a real child process) and its healthy
 * peer, over real WebSockets (issue 9, scenario 9):
 *
 * - the stalled node measures its own scheduling lag and does not declare its peer down when it
 *   wakes, though its failure detector gives a silent peer less time than the stall lasted;
 * - when the peer did declare the stalled node down (its detector gave up during the stall), the
 *   two link again by themselves once the stalled node wakes: no quarantine of a live incarnation.
 *
 * Default: a 2.5 s stall. TROUPE_CHAOS=1 also runs the issue's own case: a 6 s stall between nodes
 * whose phi accrual detectors are tuned for 30 s pauses, as docs/transport.md advises.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "./support/cluster.ts"
import type { Event } from "./support/transport-node.ts"

const secret = "a stall test secret"
const STALL_MS = 2_500
/**
 * The nodes' start (loading their modules): not what these tests measure, and on a starved machine (load 30+) it took
 * most of a 30 s limit. The steps after it have their own bound, {@link STEPS_MS}.
 */
const START_MS = 120_000
const STEPS_MS = 30_000

/** Bounds a test's steps after its nodes started. */
const steps = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.timeoutOrElse({
      duration: STEPS_MS,
      orElse: () => Effect.die(new Error(`the steps after the nodes' start took over ${STEPS_MS} ms`))
    })
  )
const chaos = process.env.TROUPE_CHAOS === "1"

const downs = (node: Cluster.Child) => node.events.filter((event) => event.event === "peer-down")
const isUp = (node: string, incarnation: string) => (event: Event) =>
  event.event === "peer-up" && event.node === node && event.incarnation === incarnation
/** How many times `child` saw `node`'s incarnation come up. */
const upsOf = (child: Cluster.Child, node: Cluster.Child) =>
  child.events.filter(isUp(node.name, node.incarnation)).length

/** `from` sends `count` envelopes to `to` and waits until they are acknowledged. */
const exchange = (from: Cluster.Child, to: Cluster.Child, count: number) =>
  Effect.gen(function* () {
    yield* from.request({ cmd: "send", to: to.name, count })
    yield* from.request({ cmd: "drain" })
  }).pipe(
    Effect.timeoutOrElse({
      duration: "15 seconds",
      orElse: () => Effect.die(new Error(`${from.name} could not send to ${to.name}:\n${from.stderr()}`))
    })
  )

const survivesStall = (stallMs: number, spec: { readonly downAfterMs?: number; readonly acceptablePauseMs?: number }) =>
  Effect.gen(function* () {
    // at once: on a loaded machine a node's start (loading its modules) takes seconds
    const [a, b] = yield* Effect.all(
      [
        Cluster.spawn({ node: "a", secret, heartbeatMs: 100, ...spec }),
        Cluster.spawn({ node: "b", secret, heartbeatMs: 100, downAfterMs: 60_000 })
      ],
      { concurrency: "unbounded" }
    )
    const report = yield* steps(
      Effect.gen(function* () {
        yield* a.request({ cmd: "connect", url: b.url })
        yield* b.waitFor(isUp("a", a.incarnation))
        yield* exchange(a, b, 50)
        yield* a.request({ cmd: "stall", ms: stallMs })
        yield* exchange(a, b, 50)
        yield* exchange(b, a, 50)
        return yield* b.report
      })
    )
    assert.deepStrictEqual(downs(a), [], a.stderr())
    assert.deepStrictEqual(downs(b), [])
    assert.deepStrictEqual(report.received[`a/${a.incarnation}`], { count: 100, duplicates: 0, missing: 0 })
  })

describe("a stalled node", () => {
  it.live(
    "does not blame its healthy peer for its own pause",
    // a's detector gives a silent peer 1 s; the stall lasts 2.5 s
    () => survivesStall(STALL_MS, { downAfterMs: 1_000 }),
    START_MS + STEPS_MS
  )

  it.live(
    "links again by itself after the peer declared it down during the stall",
    () =>
      Effect.gen(function* () {
        // b gives a silent peer 1 s: it declares a down during a's stall
        const [a, b] = yield* Effect.all(
          [
            Cluster.spawn({ node: "a", secret, heartbeatMs: 100, downAfterMs: 1_000 }),
            Cluster.spawn({ node: "b", secret, heartbeatMs: 100, downAfterMs: 1_000 })
          ],
          { concurrency: "unbounded" }
        )
        yield* steps(
          Effect.gen(function* () {
            yield* a.request({ cmd: "connect", url: b.url })
            yield* b.waitFor(isUp("a", a.incarnation))
            yield* exchange(a, b, 50)
            yield* exchange(b, a, 50)
            yield* a.request({ cmd: "stall", ms: STALL_MS })
            const down = yield* b.waitFor((event) => event.event === "peer-down" && event.node === "a")
            assert.strictEqual((down as { readonly reason?: string }).reason, "unreachable")
            // nobody intervenes: the same incarnations link again, and envelopes flow both ways
            yield* b.waitFor(() => upsOf(b, a) === 2)
            yield* a.waitFor(() => upsOf(a, b) === 2)
            yield* exchange(a, b, 50)
            yield* exchange(b, a, 50)
          })
        )
      }),
    START_MS + STEPS_MS
  )

  it.live.skipIf(!chaos)(
    "a 6 s stall between nodes tuned for 30 s pauses leaves the link up",
    () => survivesStall(6_000, { acceptablePauseMs: 30_000 }),
    START_MS + 60_000
  )
})
