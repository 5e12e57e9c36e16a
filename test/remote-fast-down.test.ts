/**
 * A SIGKILLed peer is seen down at once (issue 9: "a failure is seen at once"), not after the failure detector's
 * timeout: two actor systems in their own processes on WebSockets over loopback; one is killed with SIGKILL. Its
 * connection closes without a goodbye, and the survivor's redial is refused (nothing listens on the dead node's port
 * any more): the incarnation is gone, and the survivor declares it down then. The detector's timeout is set far
 * longer than the test waits, so a verdict of the detector cannot pass for it; either side may be the one killed
 * (the survivor had dialed it, or only accepted its connection and knows its address from its announcement).
 */
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "./support/cluster.ts"
import type { Command, Event, NodeSpec, PeerEvent } from "./support/wide-node.ts"

const SCRIPT = fileURLToPath(new URL("./support/wide-node.ts", import.meta.url))
/** Far longer than a refused redial takes, even on a loaded machine: a verdict within it is not the detector's. */
const DOWN_AFTER_MS = 60_000
const SPEC = { secret: "a fast down test secret", heartbeatMs: 200, downAfterMs: DOWN_AFTER_MS }
type Node = Cluster.Child<Event, Command>

const spawn = (node: string) => Cluster.spawn<Event, Command>({ ...SPEC, node } satisfies NodeSpec, SCRIPT)

const downOf = (node: Node, of: Node) =>
  node.waitFor(
    (e) => e.event === "peer-down" && e.node === of.name && e.incarnation === of.incarnation
  ) as Effect.Effect<PeerEvent, Cluster.ChildFailed>

/** `dialer` connects to `acceptor`; `victim` (one of them) is SIGKILLed; the other must see it down at once. */
const killed = (victim: "dialer" | "acceptor") =>
  Effect.gen(function* () {
    const dialer = yield* spawn("dialer")
    const acceptor = yield* spawn("acceptor")
    yield* dialer.request({ cmd: "connect", url: acceptor.url })
    yield* acceptor.waitFor((e) => e.event === "peer-up" && e.node === "dialer")
    const [dead, survivor] = victim === "dialer" ? [dialer, acceptor] : [acceptor, dialer]
    const killedAt = Date.now()
    yield* dead.kill
    const down = yield* downOf(survivor, dead).pipe(
      Effect.timeoutOrElse({
        duration: DOWN_AFTER_MS / 4,
        orElse: () => Effect.die(new Error(`not declared down in ${DOWN_AFTER_MS / 4} ms:\n${survivor.stderr()}`))
      })
    )
    assert.strictEqual(down.reason, "unreachable")
    assert.match(down.message ?? "", /connection refused/, `the detector's verdict, not the refusal's: ${down.message}`)
    // both clocks are this machine's: how long after the kill the survivor published the verdict
    const tookMs = down.at - killedAt
    assert.isBelow(tookMs, DOWN_AFTER_MS / 4)
    return tookMs
  })

describe("a peer killed with SIGKILL", () => {
  it.live(
    "is declared down at once by the node that dialed it (its redial is refused)",
    () => Effect.map(killed("acceptor"), (ms) => console.log(`acceptor killed: down after ${ms} ms`)),
    90_000
  )
  it.live(
    "is declared down at once by the node it dialed (which dials its announced address: refused)",
    () => Effect.map(killed("dialer"), (ms) => console.log(`dialer killed: down after ${ms} ms`)),
    90_000
  )
})
