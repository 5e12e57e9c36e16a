import { describe, expect, it } from "vitest"
import { addressUnit, FairTable, Shares } from "../src/internal/shares.ts"

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

  it("an address is the unit: IPv4 as it is (also written as IPv6), IPv6 by its /64; no address: the node itself", () => {
    expect(addressUnit("a", "192.0.2.9")).toBe("192.0.2.9")
    expect(addressUnit("a", "::ffff:192.0.2.9")).toBe("192.0.2.9")
    expect(addressUnit("a", "2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64")
    expect(addressUnit("b", "2001:0db8:0001:0002:ffff:0:0:7")).toBe("2001:db8:1:2::/64")
    expect(addressUnit("a", "::1")).toBe("0:0:0:0::/64")
    expect(addressUnit("a", "fe80::1%eth0")).toBe("fe80:0:0:0::/64")
    expect(addressUnit("a", undefined)).not.toBe(addressUnit("b", undefined))
    // a node id may look like an address: without one it never shares its unit with that address
    expect(addressUnit("192.0.2.9", undefined)).not.toBe(addressUnit("x", "192.0.2.9"))
  })

  it("a bound is shared by address first, then by node within an address: 50 ids on one address hold one share", () => {
    const table = new FairTable<number>()
    const bound = 1_000
    const offer = (node: string, unit: string, key: string) => {
      if (table.total >= bound) {
        const yielder = table.yielder(node, unit)
        if (yielder === undefined) return false
        table.delete(yielder, table.oldest(yielder)![0])
      }
      table.add(node, unit, key, 0)
      return true
    }
    for (let id = 0; id < 50; id++) for (let n = 0; n < 100; n++) offer(`flooder-${id}`, "192.0.2.1", `${n}`)
    expect(table.total).toBe(bound)
    // the honest node on another address gets half the bound (all it asks for, up to that)
    let honest = 0
    for (let n = 0; n < 800; n++) if (offer("honest", "192.0.2.7", `${n}`)) honest++
    expect(table.count("honest")).toBe(500)
    expect(honest).toBe(500)
    expect(table.holdings("honest", "192.0.2.7").node.addressHeld).toBe(500)
    // within the flooder's address, its ids share its half: each 10, give or take one
    const counts = Array.from({ length: 50 }, (_, id) => table.count(`flooder-${id}`))
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
    // a flooder id refused now (its address holds as many as any, it as many as any of its address)
    expect(offer("flooder-0", "192.0.2.1", "more")).toBe(false)
    // a new id on the flooder's address takes from its own address's largest, not from the honest node
    expect(offer("flooder-new", "192.0.2.1", "0")).toBe(true)
    expect(table.count("honest")).toBe(500)
    // a node that goes down frees its share; a node keeps the unit it first held entries under
    expect(table.deleteNode("honest")?.size).toBe(500)
    expect(table.total).toBe(500)
    table.add("flooder-0", "203.0.113.5", "moved", 0)
    expect(table.addressOf("flooder-0").address).toBe("192.0.2.1")
  })
})
