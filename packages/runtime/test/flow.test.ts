import { describe, expect, it } from "vitest"
import { FlowControl } from "../src/internal/remote/flow.ts"

/** Flow control whose nodes' units (addresses) are `units`, with at most 4 pauses per node and 8 of all. */
const flowOf = (units: Record<string, string>) =>
  new FlowControl(
    () => {},
    (node) => units[node]!,
    4,
    16,
    8
  )

describe("FlowControl: pauses of all peers, shared by address then node id", () => {
  it("ids of one address hold one share; a node on another address takes the oldest pause of the one holding the most, whose senders go on", () => {
    const flow = flowOf({ "f-0": "192.0.2.1", "f-1": "192.0.2.1", "f-2": "192.0.2.1", honest: "192.0.2.7" })
    for (const node of ["f-0", "f-1", "f-2"]) for (let n = 0; n < 4; n++) flow.pause(node, `/user/p-${n}`)
    // 4 per node, 8 of all: f-2's are refused once f-0 and f-1 hold 4 each (its address holds as many as any, and
    // within it f-2 may take one of f-0's until the ids hold 3, 3, 2)
    expect(flow.pausedCount()).toBe(8)
    expect([flow.pausedCount("f-0"), flow.pausedCount("f-1"), flow.pausedCount("f-2")]).toEqual([3, 3, 2])
    // a sender held for each of the flooder's pauses
    const flooders = ["f-0", "f-1", "f-2"].flatMap((node) =>
      [0, 1, 2, 3].filter((n) => flow.isPaused(node, `/user/p-${n}`)).map((n) => [node, `/user/p-${n}`] as const)
    )
    const sent: Array<string> = []
    for (const [node, path] of flooders) flow.whenOpen(node, path, () => sent.push(`${node}${path}`))
    expect(sent).toEqual([])
    // the honest node takes from the flooder's address (8 against 0) until both hold 4: 4 of the flooder's pauses are
    // let go, and their senders go on
    for (let n = 0; n < 4; n++) flow.pause("honest", `/user/h-${n}`)
    expect(flow.pausedCount("honest")).toBe(4)
    expect(flow.pausedCount()).toBe(8)
    expect(sent).toHaveLength(4)
    for (const [node, path] of flooders) expect(flow.isPaused(node, path)).toBe(!sent.includes(`${node}${path}`))
    // the flooder takes nothing back, under an id it holds or a new one of its address
    flow.pause("f-0", "/user/p-9")
    expect(flow.pausedCount("honest")).toBe(4)
    // a node going down lets its pauses go
    flow.nodeDown("honest")
    expect(flow.pausedCount()).toBe(4)
    expect(flow.isPaused("honest", "/user/h-0")).toBe(false)
  })
})
