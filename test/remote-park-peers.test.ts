/**
 * Peers with the secret tell an actor that does not keep up (its mailbox full): what does not fit is parked, at most
 * `maxParked` (16,384) envelopes per peer incarnation. But that bound is per peer: every node id (and every incarnation
 * of one) gets its own, and what a peer parked stays parked after it leaves (a link's deliveries are handled even if
 * its sender went away). So peers joining under new ids parked without bound at one actor (5 peers: 81,920). One
 * recipient now holds at most `maxParkedPerRecipient` (4 x 16,384) parked in all; past it, `overflow` dead letters.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Mailbox, Protocol } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Effect, Option, References, Schema } from "effect"
import * as RawPeer from "./support/raw-peer.ts"

const SECRET = "a park flood test secret"
const PEERS = 5
const TELLS = 17_000
const PER_FRAME = 500

const Stuck = Protocol.make("Stuck", { Push: { n: Schema.Number } })

/** Joins as `node` and tells /user/stuck `TELLS` times, within the node's window, until the node took them all. */
const tellAll = async (url: string, node: string) => {
  const raw = await RawPeer.open(url)
  let acked = 0
  raw.socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as { readonly ack?: unknown }
    if (typeof frame.ack === "number" && frame.ack > acked) acked = frame.ack
  })
  const { challenge } = await RawPeer.join(raw, RawPeer.identity(node), SECRET)
  const window = Number(challenge.window)
  const beat = setInterval(() => raw.send({ type: "heartbeat" }), 300)
  for (let seq = 0; seq < TELLS; seq += PER_FRAME) {
    while (seq + PER_FRAME - acked > window) await new Promise((resolve) => setTimeout(resolve, 5))
    const envelopes = Array.from({ length: PER_FRAME }, (_, i) => ({
      kind: "tell",
      to: { node: "target", path: "/user/stuck" },
      payload: { _tag: "Push", n: seq + i }
    }))
    raw.send({ type: "data", ack: 0, first: seq + 1, envelopes })
  }
  while (acked < TELLS) await new Promise((resolve) => setTimeout(resolve, 10))
  return () => {
    clearInterval(beat)
    raw.socket.close()
  }
}

describe("peers tell an actor that does not keep up", () => {
  it.live(
    "one recipient holds at most 65,536 parked, however many peers park (was: 16,384 per peer, 81,920 for 5)",
    () =>
      Effect.gen(function* () {
        const transport = yield* WebSocket.make({
          node: "target",
          secret: SECRET,
          listen: { port: 0, host: "127.0.0.1" }
        })
        const system = yield* ActorSystem.make({ name: "target" }).pipe(
          Effect.provideService(Transport.Transport, transport)
        )
        yield* system.spawn(Behavior.make(Stuck, { initial: null, receive: { Push: () => Effect.never } }), {
          name: "stuck",
          mailbox: Mailbox.bounded(4)
        })
        const url = Option.getOrThrow(transport.address)
        const closers: Array<() => void> = []
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            for (const close of closers) close()
          })
        )
        for (let p = 0; p < PEERS; p++) closers.push(yield* Effect.promise(() => tellAll(url, `parker-${p}`)))
        const parked = ActorSystem.internal(system).remoting!.flow.size.parked
        assert.strictEqual(parked, 4 * 16_384, `${parked} envelopes parked at one actor by ${PEERS} peers`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
