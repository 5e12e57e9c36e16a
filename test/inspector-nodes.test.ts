/**
 * Inspectors of real `troupe node` processes under faults: a node killed with SIGKILL is shown unreachable (its
 * last known part kept) while the other inspector keeps serving; the node started again, as a new incarnation, is
 * watched again and shown fresh. A page (an event stream) open all along sees all of it.
 */
import { View } from "@troupe/inspector"
import { afterAll, describe, expect, it, vi } from "vitest"
import { HANG_MILLIS, stopAll } from "./support/child.ts"
import { startNodes } from "./support/inspected-nodes.ts"

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000 })

/** A page's copy of an inspector's state, kept live over its event stream. */
const follow = async (address: string) => {
  const controller = new AbortController()
  const response = await fetch(`${address}api/events`, { signal: controller.signal })
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  let state: View.State | undefined
  let resets = 0
  const until = async (what: string, predicate: (state: View.State) => boolean, timeout = HANG_MILLIS) => {
    const deadline = Date.now() + timeout
    for (;;) {
      if (state !== undefined && predicate(state)) return state
      if (Date.now() > deadline) throw new Error(`waited ${timeout} ms for ${what}`)
      const late = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), deadline - Date.now()))
      const read = await Promise.race([reader.read(), late])
      if (read === "late") continue
      if (read.done) throw new Error(`the stream ended while waiting for ${what}`)
      buffer += read.value
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event === "reset") {
          resets++
          state = JSON.parse(data!) as View.State
        } else if (event === "patch") {
          for (const patch of JSON.parse(data!) as Array<View.Patch>) View.apply(state!, patch)
        }
      }
    }
  }
  return { until, resets: () => resets, close: () => controller.abort() }
}

describe("inspectors of node processes, under faults", () => {
  it("a node killed is shown unreachable, the other keeps serving; started again, it is watched again", async () => {
    const { alice, bob, aliceInspector, restartBob } = await startNodes({ readOnly: true })
    const page = await follow(aliceInspector)
    try {
      const first = await page.until(
        "bob's part",
        (s) =>
          s.nodes.bob?.inspected === true &&
          s.nodes.bob.actors.some((a) => a.path === "/user/approver") &&
          (s.nodes.alice?.info?.links.some((l) => l.node === "bob") ?? false)
      )
      const incarnation = first.nodes.alice!.info!.links.find((l) => l.node === "bob")!.incarnation

      bob.process.kill("SIGKILL")
      await page.until("bob unreachable", (s) => s.nodes.bob?.reachable === false)
      // its last known part is kept, and alice's own part goes on changing
      const after = await page.until("alice's link to bob down", (s) =>
        s.nodes.alice!.info!.links.every((l) => l.node !== "bob" || !l.connected)
      )
      expect(after.nodes.bob!.actors.some((a) => a.path === "/user/approver")).toBe(true)
      const state = (await (await fetch(`${aliceInspector}api/state`)).json()) as View.State
      expect(state.nodes.bob!.reachable).toBe(false)

      // bob again: a new incarnation, watched again
      const again = restartBob()
      await again.line("ready:")
      await page.until(
        "bob back",
        (s) =>
          s.nodes.bob?.reachable === true &&
          s.nodes.bob.inspected &&
          s.nodes.alice!.info!.links.some((l) => l.node === "bob" && l.connected && l.incarnation !== incarnation)
      )
      expect(page.resets()).toBe(1) // one stream all along, patched live
      again.process.kill("SIGINT")
      expect((await again.exited()).code).toBe(0)
    } finally {
      page.close()
      alice.process.kill("SIGINT")
    }
    expect((await alice.exited()).code).toBe(0)
  })
})
