import { describe, expect, it } from "vitest"
import { Shares } from "../src/internal/shares.ts"

describe("Shares (fair shares of a bound over all peers)", () => {
  it("knows the node holding the most as counts go up and down", () => {
    const shares = new Shares()
    for (let i = 0; i < 5; i++) shares.add("flooder")
    shares.add("honest")
    expect([shares.top(), shares.topCount, shares.total]).toEqual(["flooder", 5, 6])
    expect(shares.mayTakeFromTop("honest")).toBe(true) // 2 after the move, the flooder 4
    expect(shares.mayTakeFromTop("flooder")).toBe(false)
    for (let i = 0; i < 4; i++) shares.remove("flooder")
    expect([shares.topCount, shares.total]).toEqual([1, 2])
    expect(shares.mayTakeFromTop("honest")).toBe(false) // equal shares: no move back and forth
    shares.add("honest")
    expect([shares.top(), shares.topCount]).toEqual(["honest", 2])
    expect(shares.removeAll("honest")).toBe(2)
    expect([shares.top(), shares.topCount, shares.total, shares.count("honest")]).toEqual(["flooder", 1, 1, 0])
    shares.remove("flooder")
    shares.remove("nobody")
    expect([shares.top(), shares.topCount, shares.total]).toEqual([undefined, 0, 0])
  })

  it("moving from the largest to a smaller share settles at shares differing by one at most", () => {
    const shares = new Shares()
    const bound = 1_000
    // three nodes list in turn, each as much as it can; the table is full after the first
    for (const node of ["a", "b", "c"]) {
      for (let i = 0; i < bound; i++) {
        if (shares.total < bound) shares.add(node)
        else if (shares.mayTakeFromTop(node)) {
          shares.remove(shares.top()!)
          shares.add(node)
        }
      }
    }
    const counts = ["a", "b", "c"].map((node) => shares.count(node))
    expect(shares.total).toBe(bound)
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
  })
})
