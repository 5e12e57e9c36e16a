/**
 * The resend ring writes `data` frames straight into a buffer (templated envelopes as their template's bytes around
 * their payload's JSON, runs of one template with one copy between payloads): the bytes must be exactly those of
 * `Frame.encodeData` on the envelopes' JSON, whatever the mix of templates, plain envelopes and non-ASCII text.
 */
import { describe, expect, it } from "vitest"
import * as ActorAddress from "../src/ActorAddress.ts"
import * as Envelope from "../src/Envelope.ts"
import * as Frame from "../src/Frame.ts"
import { SendRing } from "../src/internal/sendRing.ts"
import * as NodeId from "../src/NodeId.ts"

const b = NodeId.make("node-b")
const templates = [
  Envelope.template({ kind: "tell", to: ActorAddress.make(b, "/user/counter") }),
  Envelope.template({
    kind: "tell",
    to: ActorAddress.make(b, "/user/zähler"),
    from: ActorAddress.make(NodeId.make("node-a"), "/user/producer")
  })
]

/** A small deterministic generator (the same cases every run). */
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}

describe("SendRing.frame", () => {
  it("writes the bytes of Frame.encodeData for any mix of templated and plain envelopes", () => {
    const next = random(7)
    for (let round = 0; round < 200; round++) {
      const ring = new SendRing(64)
      const count = 1 + Math.floor(next() * 40)
      const whole: Array<string> = []
      let size = 0
      for (let seq = 1; seq <= count; seq++) {
        const pick = next()
        const payload = { _tag: "Tick", n: seq, text: next() < 0.2 ? "héllo ✓" : "hello" }
        const json = JSON.stringify(payload)
        if (pick < 0.7) {
          const template = templates[pick < 0.5 ? 0 : 1]!
          whole.push(template.head + json + template.tail)
          const bytes = template.bytes + Buffer.byteLength(json)
          ring.put(seq, 0, json, bytes, template)
          size += bytes + 1
        } else {
          const envelope = JSON.stringify(
            Envelope.make({ kind: "system", to: ActorAddress.make(b, "/system"), payload })
          )
          whole.push(envelope)
          const bytes = Buffer.byteLength(envelope)
          ring.put(seq, 0, envelope, bytes, undefined)
          size += bytes + 1
        }
      }
      const first = 1 + Math.floor(next() * count)
      for (let seq = 1; seq < first; seq++) size -= ring.size(seq) + 1
      const frame = ring.frame(round, first, count, size)
      expect(frame.toString("utf8")).toBe(Frame.encodeData(round, first, whole.slice(first - 1)).toString("utf8"))
      expect(frame.length).toBe(Frame.encodeData(round, first, whole.slice(first - 1)).length)
    }
  })
})
