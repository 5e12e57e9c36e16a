/**
 * The table of requests by correlation id (asks waiting for replies, requests being answered): one request in a field
 * of its own, the others in a `Map` behind it. It must behave as a `Map` whatever the order of adds and deletes.
 */
import { describe, expect, it } from "vitest"
import { IdMap } from "../src/internal/remote/idMap.ts"

describe("IdMap", () => {
  it("gives what a Map gives for any order of sets and deletes, one request at a time or many", () => {
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const ids = new IdMap<number>()
    const map = new Map<string, number>()
    for (let step = 0; step < 20_000; step++) {
      const id = `${Math.floor(next() * (step < 10_000 ? 3 : 40))}`
      const r = next()
      if (r < 0.45) {
        ids.set(id, step)
        map.set(id, step)
      } else if (r < 0.9) {
        ids.delete(id)
        map.delete(id)
      }
      expect(ids.get(id)).toBe(map.get(id))
      expect(ids.size).toBe(map.size)
    }
    expect(ids.values().sort()).toEqual([...map.values()].sort())
    for (const id of [...map.keys()]) ids.delete(id)
    expect(ids.size).toBe(0)
    expect(ids.values()).toEqual([])
  })

  it("keeps one request in its field: set, get, delete, then the next", () => {
    const ids = new IdMap<string>()
    for (let n = 1; n <= 3; n++) {
      ids.set(`${n}`, `ask ${n}`)
      expect(ids.get(`${n}`)).toBe(`ask ${n}`)
      expect(ids.get(`${n + 1}`)).toBeUndefined()
      ids.delete(`${n}`)
      expect(ids.get(`${n}`)).toBeUndefined()
      expect(ids.size).toBe(0)
    }
  })
})
