/**
 * A peer that encodes a wide envelope cannot send a heartbeat meanwhile (its checks, `JSON.stringify` and the count of
 * its values are synchronous, about as long as the receiver's parse): the receiver's failure detector gives a peer
 * that sent a wide envelope lately time to encode the next one (`internal/detector.ts`, `Detector.sent`). Here the
 * judge (this process) has a tight detector (no heartbeat for 1 s: down) and a sender in its own process, over
 * WebSocket on loopback, sends an envelope of 800,000 values whose payload's JSON it made beforehand (its send only
 * counts it), then one as wide that it makes and encodes in the send (a stall of ~1.4 s quiet, more under load). On e981ee8 the
 * judge declared the sender down during the second; now the first taught it the sender's width, and the link holds.
 */
import { fileURLToPath } from "node:url"
import { type Peer, WebSocket } from "@troupe/transport"
import { Effect, Option, Queue, Stream } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { start, stopAll } from "./support/child.ts"

afterAll(stopAll)

const script = fileURLToPath(new URL("./support/wide-sender.ts", import.meta.url))
const secret = "a wide sender test secret"
// the judge's detector: no heartbeat for this long (ms), down
// (500 ms with 600,000 values: at load 30 the sender, silent while it counted the prime, was declared down before
// the prime arrived; the prime's count and the heartbeat interval need their margin too)
const timeout = 1000
// wide enough that the encode outlasts the judge's timeout on a quiet machine too (600,000 took 883 ms once), up to
// ~15 s at load 40, within the grace the primed width gives (30 µs a value: 24 s)
const values = 4_000_000
const prime = 800_000
const width = 800_000

describe("a peer that encodes wide envelopes", () => {
  it("is given time to encode the next one once one arrived: a tight detector does not declare it down", async () => {
    const program = Effect.gen(function* () {
      const transport = yield* WebSocket.make({
        node: "judge",
        secret,
        listen: { port: 0 },
        heartbeatInterval: 100,
        failureDetector: { _tag: "Timeout", timeout },
        maxEnvelopeValues: values,
        maxFrameBytes: 64 * 1024 * 1024
      })
      const events: Array<Peer.PeerEvent> = []
      yield* Effect.forkScoped(Stream.runForEach(transport.events, (event) => Effect.sync(() => events.push(event))))
      const arrived = yield* Queue.unbounded<number>()
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.flatMap(transport.receive, (batch) =>
            Queue.offerAll(
              arrived,
              batch.map((d) =>
                Array.isArray(d.envelope.payload)
                  ? d.envelope.payload.length
                  : Object.keys(d.envelope.payload as object).length
              )
            )
          )
        )
      )
      const url = Option.getOrThrow(transport.address)
      const child = start([script, JSON.stringify({ url, to: "judge", secret, values, prime, wide: width })])
      yield* Effect.promise(() => child.line('"ready"'))
      // the envelope, or the sender declared down (on e981ee8: down within the timeout of the encode's start, and the
      // envelope, sent on the link that went down, never delivered)
      const down = Effect.gen(function* () {
        while (!events.some((e) => e._tag === "PeerDown")) yield* Effect.sleep("20 millis")
        return -1
      })
      child.process.stdin!.write("prime\n")
      const primed = JSON.parse(yield* Effect.promise(() => child.line('"sent":"prime"'))) as { ms: number }
      expect(yield* Effect.raceFirst(Queue.take(arrived), down)).toBe(prime)
      child.process.stdin!.write("wide\n")
      const sent = JSON.parse(yield* Effect.promise(() => child.line('"sent":"wide"'))) as { ms: number }
      expect(yield* Effect.raceFirst(Queue.take(arrived), down)).toBe(width)
      // heartbeats again for longer than the detector's timeout, then the verdict
      yield* Effect.sleep(timeout)
      const stats = yield* transport.stats
      const downs = events.filter((e) => e._tag === "PeerDown")
      child.process.stdin!.end()
      yield* Effect.promise(() => child.exited())
      return {
        primed: primed.ms,
        encode: sent.ms,
        downs,
        links: stats.links.length
      }
    })
    const result = await Effect.runPromise(Effect.scoped(program))
    console.log(
      `the sender's loop: ${result.primed} ms for the prepared envelope, ${result.encode} ms for the encoded one`
    )
    // the encode kept the sender silent longer than the judge's timeout: the grace is what held the link
    expect(result.encode).toBeGreaterThan(timeout)
    expect(result.downs).toEqual([])
    expect(result.links).toBe(1)
  }, 120_000)
})
