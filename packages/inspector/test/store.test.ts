/**
 * The inspector's store: batches numbered in order, applied to a copy of their values, and a subscriber that
 * falls behind loses batches (it never holds memory), which it sees as a gap in the numbers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Store } from "../src/internal/store.ts"
import * as View from "../src/View.ts"

describe("Store", () => {
  it.effect("numbers batches; a value in a published batch never changes with the state", () =>
    Effect.gen(function* () {
      const store = new Store("a", false)
      const { state, seq, batches } = yield* store.subscribe()
      assert.deepStrictEqual([JSON.parse(state), seq], [{ self: "a", actions: false, nodes: {} }, 0])
      store.commit([{ op: "set", path: ["nodes", "a", "sessions", "s"], value: { id: "s", entries: [] } }])
      store.commit([{ op: "push", path: ["nodes", "a", "sessions", "s", "entries"], value: { at: 1 } }])
      const [first, second] = yield* Stream.runCollect(Stream.take(batches, 2))
      assert.deepStrictEqual([first!.seq, second!.seq], [1, 2])
      // the first batch still says what it said: the push went into the state's copy, not into it
      assert.strictEqual(first!.json, JSON.stringify(first!.patches))
      assert.deepStrictEqual((first!.patches[0] as { value: { entries: Array<unknown> } }).value.entries, [])
      // a page that replays the batches from the start gets the same state
      const copy = JSON.parse(state) as View.State
      for (const batch of [first!, second!]) for (const patch of JSON.parse(batch.json)) View.apply(copy, patch)
      assert.deepStrictEqual(copy, store.state)
    }).pipe(Effect.scoped)
  )

  it.effect("a subscriber that falls behind loses batches and sees the gap", () =>
    Effect.gen(function* () {
      const store = new Store("a", false, 8)
      const { batches } = yield* store.subscribe()
      for (let i = 0; i < 20; i++) store.commit([{ op: "set", path: ["nodes", "a", "n"], value: i }])
      const kept = (yield* Stream.runCollect(Stream.take(batches, 8))).map((b) => b.seq)
      store.commit([{ op: "set", path: ["nodes", "a", "n"], value: 20 }])
      const next = (yield* Stream.runCollect(Stream.take(batches, 1))).map((b) => b.seq)
      // at most 8 waited for it, the others were dropped; the numbers jump, so it knows to start again
      assert.strictEqual(kept.length, 8)
      assert.deepStrictEqual(next, [21])
      assert.isTrue(kept.some((seq, i) => i > 0 && seq !== kept[i - 1]! + 1) || kept.at(-1)! + 1 !== 21)
    }).pipe(Effect.scoped)
  )
})
