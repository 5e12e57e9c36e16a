/**
 * The heads a connection's frame decoder keeps (`internal/frameHeads.ts`): a head is learned on its second sight,
 * and forgetting one costs a few steps however many are kept. A burst of sessions sends each reply to its own
 * coordinator (`session-<id>`), so nearly every envelope's head is new: learning each one (its texts made, its tail
 * checked) and forgetting the oldest (every kept head's joint looked at: 256 steps) cost the starter several times
 * the envelope's parse, in the socket read that carried it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Frame } from "../src/index.ts"
import { FrameDecoder } from "../src/internal/frameDecoder.ts"
import { type Head, Heads } from "../src/internal/frameHeads.ts"
import { head, same } from "./support/frames.ts"

const reply = (session: number, role: string, n = 0) =>
  `${head("tell", "starter", `/user/session-burst-${session}`)},"payload":{"_tag":"Done","n":${n}},"from":{"node":"parts","path":"/user/${role}"}}`

describe("FrameHeads", () => {
  it("envelopes each to a head not seen before are decoded as JSON.parse does, and none is learned or forgotten", () => {
    const decoder = new FrameDecoder()
    for (let f = 0; f < 100; f++) {
      const texts = Array.from({ length: 40 }, (_, i) => reply(f * 40 + i, i % 2 === 0 ? "C" : "S"))
      same(decoder, Frame.encodeData(0, 1 + f * 40, texts), `frame ${f}`)
    }
    // on e981ee8: 512 (the last 256 heads and their tails), 3,744 heads forgotten, each a scan of 256 joints
    assert.strictEqual(decoder.kept, 0)
    assert.strictEqual(decoder.failed, 0)
  })

  it("a head seen twice is learned, its next envelopes read from its payload", () => {
    const decoder = new FrameDecoder()
    const texts = [reply(1, "C", 1), reply(1, "S", 2), reply(1, "C", 3), reply(1, "S", 4)]
    same(decoder, Frame.encodeData(0, 1, texts), "frame")
    assert.strictEqual(decoder.kept, 3) // learned at its second sight, with the tail seen then; the first tail after
    same(decoder, Frame.encodeData(0, 5, texts), "again")
    assert.strictEqual(decoder.valid, 4)
  })

  it("forgetting a head costs a few steps however many heads are kept, and what joints lead to stays bounded", () => {
    const heads = new Heads()
    const learnTwice = (n: number): Head => {
      const text = reply(n, "C")
      const value: unknown = JSON.parse(text)
      heads.learn(text, 0, text.length - 1, value)
      return heads.learn(text, 0, text.length - 1, value)!
    }
    let previous: Head | undefined
    const learned: Array<Head> = []
    for (let n = 0; n < 20_000; n++) {
      const next = learnTwice(n)
      learned.push(next)
      // as the decoder does: the previous head's joint to this one
      if (previous !== undefined && previous !== next) previous.joint = { text: "", tail: heads.tail, next }
      previous = next
    }
    assert.strictEqual(heads.forgets, 20_000 - 256)
    // on e981ee8 every forget looked at the 255 heads kept: 5 million steps here
    assert.isAtMost(heads.swept / heads.forgets, 4)
    // joints lead to heads kept, or to at most 64 forgotten since the last sweep
    const kept = new Set(learned.slice(-256))
    const led = new Set<Head>()
    for (const h of kept) if (h.joint !== undefined && !kept.has(h.joint.next)) led.add(h.joint.next)
    assert.isAtMost(led.size, 64)
  })

  it("joints across forgotten heads: a stream through 400 senders' heads, each frame as JSON.parse gives it", () => {
    const decoder = new FrameDecoder()
    const senders = 400
    let seq = 1
    for (let f = 0; f < 2 * senders; f++) {
      // ten consecutive heads per frame: each head is in ten frames, after the same one (joints made and followed)
      const texts = Array.from({ length: 10 }, (_, i) => reply((f + i) % senders, "C", f))
      same(decoder, Frame.encodeData(0, seq, texts), `frame ${f}`)
      seq += texts.length
    }
    assert.strictEqual(decoder.failed, 0)
    assert.strictEqual(decoder.throws, 0)
    assert.isAtMost(decoder.kept, 256 * 17)
  }, 60_000)
})
