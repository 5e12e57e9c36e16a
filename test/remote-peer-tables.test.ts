/**
 * What a peer with the secret can make a node keep, table by table, for the tables that were bounded already (see
 * remote-listing-flood, remote-pause-flood and remote-gossip-flood for the ones that were not): these tests keep them
 * bounded.
 * - Death watch: a watch of an actor that is not there (made up, or gone) is answered `terminated` at once and keeps
 *   nothing; watches of a live actor are one entry per peer node and actor, however many times it is watched;
 *   `unwatch`, `terminated` and `cancel` for things that do not exist keep nothing.
 * - Requests to an actor that does not keep up: at most its mailbox, plus `maxParked` (16,384) parked per peer, wait
 *   for a reply here; the others are answered `MailboxFull` at once.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Mailbox, Protocol } from "@troupe/runtime"
import { Effect, References, Schema } from "effect"
import { heapUsed } from "./support/heap.ts"
import * as PeerFlood from "./support/peer-flood.ts"

const SECRET = "a peer tables test secret"
const N = 30_000

const Slow = Protocol.make("Slow", { Work: Protocol.request({ n: Schema.Number }, { success: Schema.Number }) })
const slow = Behavior.make(Slow, { initial: null, receive: { Work: () => Effect.never } })

const system = (text: (n: number) => Record<string, unknown>) => (n: number) => ({
  kind: "system",
  to: { node: "target", path: "/system" },
  payload: text(n)
})

/** A target node with `/user/slow` (mailbox of 64), and a raw peer joined to it (keeping what it gets: `keep`). */
const target = (keep: boolean) =>
  Effect.gen(function* () {
    const { system, join } = yield* PeerFlood.floodTarget(SECRET)
    yield* system.spawn(slow, { name: "slow", mailbox: Mailbox.bounded(64) })
    const peer = yield* join("flooder", keep)
    return { remoting: ActorSystem.internal(system).remoting!, peer }
  })

describe("what a peer can make a node keep (bounded tables)", () => {
  it.live(
    "watches of actors that are not there keep nothing; a live actor watched 30,000 times is one entry",
    () =>
      Effect.gen(function* () {
        const { remoting, peer } = yield* target(false)
        const before = yield* heapUsed
        const madeUp = (n: number) => `/user/made-up-${n}-${"z".repeat(80)}`
        const steps = [
          system((n) => ({ type: "watch", path: madeUp(n) })),
          system(() => ({ type: "watch", path: "/user/slow" })),
          system((n) => ({ type: "unwatch", path: madeUp(n) })),
          system((n) => ({ type: "terminated", path: madeUp(n), reason: { _tag: "Stopped" } })),
          system((n) => ({ type: "cancel", correlationId: `made-up-${n}` }))
        ]
        for (const step of steps) yield* Effect.promise(() => peer.send(N, step))
        const after = yield* heapUsed
        assert.strictEqual(remoting.watchedHere, 1)
        assert.strictEqual(remoting.pendingInbound, 0)
        assert.isBelow(after - before, 8 * 1024 * 1024, `the heap grew by ${after - before} bytes`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )

  it.live(
    "requests to an actor that does not keep up: at most its mailbox and maxParked wait; the rest get MailboxFull",
    () =>
      Effect.gen(function* () {
        const { remoting, peer } = yield* target(true)
        yield* Effect.promise(() =>
          peer.send(N, (n) => ({
            kind: "ask",
            to: { node: "target", path: "/user/slow" },
            correlationId: `work-${n}`,
            payload: { _tag: "Work", n }
          }))
        )
        // one running, 64 in the mailbox, 16,384 parked
        assert.isAtMost(remoting.pendingInbound, 1 + 64 + 16_384)
        const full = peer.received.filter((e) => JSON.stringify(e).includes("MailboxFull")).length
        assert.isAtLeast(full, N - (1 + 64 + 16_384))
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
