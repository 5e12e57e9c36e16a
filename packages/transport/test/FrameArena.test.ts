/**
 * The frame arena hands out memory for outgoing frames and writes over it only once the writes that carried its
 * frames completed: a frame still in a socket's hands (or an old connection's) must keep its bytes.
 */
import { describe, expect, it } from "vitest"
import { FrameArena, STORE_BYTES } from "../src/internal/frameArena.ts"

/** A connection's write counters, with the frames it was handed (to check their bytes later). */
const connection = () => {
  const frames: Array<{ frame: Buffer; fill: number }> = []
  return {
    handed: 0,
    completed: 0,
    frames,
    write(frame: Buffer, fill: number) {
      frame.fill(fill)
      frames.push({ frame, fill })
      this.handed++
    },
    intact() {
      return frames.every(({ frame, fill }) => frame.every((byte) => byte === fill))
    }
  }
}

describe("FrameArena", () => {
  it("cuts frames one after another and writes over them only once their writes completed", () => {
    const arena = new FrameArena()
    const a = connection()
    const frames: Array<Buffer> = []
    for (let i = 0; i < 12; i++) {
      const frame = arena.take(30_000, a)
      a.write(frame, i + 1)
      frames.push(frame)
    }
    // 4 frames of 30,000 bytes per store: 3 stores, none written over
    expect(new Set(frames.map((frame) => frame.buffer)).size).toBe(3)
    expect(a.intact()).toBe(true)
    // the first 5 written out: the first store (frames 1-4) is free, the second (5-8) is not
    a.completed = 5
    const next = arena.take(30_000, a)
    expect(next.buffer).toBe(frames[0]!.buffer)
    expect(next.byteOffset).toBe(frames[0]!.byteOffset)
    a.frames.splice(0, 4) // written out: theirs to write over
    a.write(next, 99)
    expect(a.intact()).toBe(true)
  })

  it("never writes over frames out on an old connection, even when the new one's writes complete", () => {
    const arena = new FrameArena()
    const old = connection()
    old.write(arena.take(40_000, old), 1)
    const fresh = connection()
    for (let i = 0; i < 20; i++) {
      fresh.write(arena.take(40_000, fresh), 2 + i)
      fresh.completed = fresh.handed
      fresh.frames.length = 0 // written out
    }
    expect(old.intact()).toBe(true)
  })

  it("replaces stores whose writes never complete (a dropped connection) and keeps their frames' bytes", () => {
    const arena = new FrameArena()
    const stuck = connection()
    for (let i = 0; i < 40; i++) stuck.write(arena.take(100_000, stuck), i + 1)
    expect(stuck.intact()).toBe(true)
  })

  it("gives a frame larger than a store a buffer of its own", () => {
    const arena = new FrameArena()
    const a = connection()
    const large = arena.take(STORE_BYTES + 1, a)
    expect(large.length).toBe(STORE_BYTES + 1)
    expect(large.buffer.byteLength).toBeGreaterThanOrEqual(STORE_BYTES + 1)
  })
})
