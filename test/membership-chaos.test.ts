/**
 * Membership under faults, with real node processes over WebSockets: a star of three (two leaves that
 * join only the hub) becomes a mesh; a leaf is SIGKILLed and the other leaf declares it down; a new
 * incarnation of it joins the hub, and the other leaf links to it (learned from the hub) and exchanges
 * envelopes with it, nothing lost or duplicated.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "./support/cluster.ts"
import type { Event } from "./support/transport-node.ts"

const spec = { secret: "a membership chaos secret", heartbeatMs: 100, downAfterMs: 1_000 }

const isUp = (node: string, incarnation: string) => (event: Event) =>
  event.event === "peer-up" && event.node === node && event.incarnation === incarnation

describe("membership under faults", () => {
  it.live("a SIGKILLed member is declared down, and its next incarnation joins the mesh through the hub", () =>
    Effect.gen(function* () {
      const hub = yield* Cluster.spawn({ ...spec, node: "hub" })
      const left = yield* Cluster.spawn({ ...spec, node: "left" })
      const right = yield* Cluster.spawn({ ...spec, node: "right" })
      yield* left.request({ cmd: "connect", url: hub.url })
      yield* right.request({ cmd: "connect", url: hub.url })
      // the leaves learned each other from the hub
      yield* left.waitFor(isUp("right", right.incarnation))
      yield* left.request({ cmd: "send", to: "right", count: 100 })

      yield* right.kill
      const down = yield* left.waitFor((event) => event.event === "peer-down" && event.node === "right")
      assert.strictEqual((down as { readonly reason?: string }).reason, "unreachable")

      // a new incarnation, elsewhere (another port), joins the hub only
      const again = yield* Cluster.spawn({ ...spec, node: "right" })
      yield* again.request({ cmd: "connect", url: hub.url })
      yield* left.waitFor(isUp("right", again.incarnation))
      yield* left.request({ cmd: "send", to: "right", count: 100 })
      yield* left.request({ cmd: "drain" })
      const report = yield* again.report
      assert.deepStrictEqual(report.received[`left/${left.incarnation}`], { count: 100, duplicates: 0, missing: 0 })
    })
  )
})
