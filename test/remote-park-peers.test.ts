/**
 * Peers with the secret tell an actor that does not keep up (its mailbox full): what does not fit is parked, at most
 * `maxParked` (16,384) envelopes per peer incarnation. But that bound is per peer: every node id (and every incarnation
 * of one) gets its own, and what a peer parked stays parked after it leaves (a link's deliveries are handled even if
 * its sender went away). So peers joining under new ids parked without bound at one actor (5 peers: 81,920). One
 * recipient now holds at most `maxParkedPerRecipient` (4 x 16,384) parked in all; past it, `overflow` dead letters.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Mailbox, Protocol } from "@troupe/runtime"
import { Effect, References, Schema } from "effect"
import * as PeerFlood from "./support/peer-flood.ts"

const SECRET = "a park flood test secret"
const PEERS = 5
const TELLS = 17_000
const PER_FRAME = 500

const Stuck = Protocol.make("Stuck", { Push: { n: Schema.Number } })

/** The envelope of the `n`th tell to /user/stuck. */
const push = (n: number) => ({
  kind: "tell",
  to: { node: "target", path: "/user/stuck" },
  payload: { _tag: "Push", n }
})

describe("peers tell an actor that does not keep up", () => {
  it.live(
    "one recipient holds at most 65,536 parked, however many peers park (was: 16,384 per peer, 81,920 for 5)",
    () =>
      Effect.gen(function* () {
        const { system, join } = yield* PeerFlood.floodTarget(SECRET)
        yield* system.spawn(Behavior.make(Stuck, { initial: null, receive: { Push: () => Effect.never } }), {
          name: "stuck",
          mailbox: Mailbox.bounded(4)
        })
        // each peer joins and tells it TELLS times, within the node's window, until the node took them all
        for (let p = 0; p < PEERS; p++) {
          const peer = yield* join(`parker-${p}`)
          yield* Effect.promise(() => peer.send(TELLS, push, PER_FRAME))
        }
        const parked = ActorSystem.internal(system).remoting!.flow.size.parked
        assert.strictEqual(parked, 4 * 16_384, `${parked} envelopes parked at one actor by ${PEERS} peers`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
