/**
 * A node SIGKILLed and started again at once, with the same name and address: its peer has not yet noticed the
 * crash (its failure detector bears long pauses, and its next dial is seconds away; if that dial finds nothing
 * listening yet, the old incarnation is declared down at once instead). A `connect` to the address
 * made after the new incarnation listens must return once the peer is linked with that incarnation, and a lookup
 * made then must find the actor the new incarnation hosts: never "no actor" or "unreachable" from the old
 * incarnation's dead link.
 */
import { Effect, Exit, Scope } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { Echo } from "./fixtures/cli/echo-protocol.ts"
import { freePort, stopAll } from "./support/child.ts"
import { patientNode, startEchoNode } from "./support/patient-node.ts"
import { secret } from "./support/target-node.ts"

afterAll(stopAll)

describe("a lookup after a crashed node restarted at once", () => {
  it("connect() returns once the new incarnation is linked, and the lookup finds its actor", async () => {
    const token = secret()
    const port = await freePort()
    const scope = Effect.runSync(Scope.make())
    try {
      // the lookup cut by the restart ends when the new incarnation links, not at its deadline
      const system = await patientNode(scope, token, { redialAfter: "3 seconds", askTimeout: "60 seconds" })
      const first = await startEchoNode(port, token)
      const node = await Effect.runPromise(system.connect(first.url))
      await Effect.runPromise(system.lookup("/user/echo", Echo, { node }))

      first.child.process.kill("SIGKILL")
      await first.child.exit
      const second = await startEchoNode(port, token)
      // a lookup sent now waits on the old incarnation's link, which ends when this node links with the new one:
      // it fails saying the node restarted (and to look up again), not that there is no actor. Unless this node's
      // redial found nothing listening on b's port before the new incarnation did (a slow start on a loaded
      // machine): then the old incarnation was declared down at once, as gone, and the lookup says b was not
      // reachable; both say to look it up again, and neither is a "no actor" from the old incarnation's dead link
      const cut = Effect.runPromiseExit(system.lookup("/user/echo", Echo, { node }))
      // the new incarnation listens: connecting to it now must link with it, not return the dead link
      const after = await Effect.runPromise(system.connect(second.url))
      const cutExit = await cut
      expect(Exit.isFailure(cutExit) ? String(cutExit.cause) : "found").toMatch(
        /Node b restarted before it answered the lookup of \/user\/echo: look it up again|Could not ask node b for \/user\/echo: it is not reachable/
      )
      const found = await Effect.runPromiseExit(system.lookup("/user/echo", Echo, { node: after }))
      expect(Exit.isSuccess(found) ? "found" : String(found.cause)).toBe("found")
      const echo = Exit.isSuccess(found) ? found.value : undefined
      expect(await Effect.runPromise(echo!.ask(Echo.Echo({ text: "again" })))).toBe("b echoes again")
      second.child.process.kill("SIGTERM")
      await second.child.exited()
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 120_000)
})
