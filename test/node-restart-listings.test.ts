/**
 * Red team (session 14): a node SIGKILLed and started again at once on the same port, re-registering its actor
 * under the same receptionist key. This node learns of the crash only when it links with the new incarnation
 * (its detector bears long pauses and its next dial is seconds away). Its receptionist must then list the
 * actor of the new incarnation only: the old incarnation's listing is gone with it.
 */
import { ActorSystem, Receptionist } from "@troupe/runtime"
import { Effect, Exit, Scope } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { Echo } from "./fixtures/cli/echo-protocol.ts"
import { freePort, stopAll } from "./support/child.ts"
import { patientNode, startEchoNode } from "./support/patient-node.ts"
import { secret } from "./support/target-node.ts"

/** Minutes of child processes or heap rounds: run by `.ci/run` after the default suite (README, "Tests"). */
const long = process.env.TROUPE_LONG === "1"

afterAll(stopAll)

const Echoes = Receptionist.key("echoes", Echo)

describe.runIf(long)("the receptionist after a node restarted at once on its port", () => {
  it("lists the new incarnation's actor only", async () => {
    const token = secret()
    const port = await freePort()
    const scope = Effect.runSync(Scope.make())
    try {
      const system = await patientNode(scope, token, { redialAfter: "30 seconds" })
      const find = Effect.provideService(Receptionist.find(Echoes), ActorSystem.ActorSystem, system)
      const listed = async (until: (refs: ReadonlyArray<unknown>) => boolean) => {
        const started = Date.now()
        for (;;) {
          const refs = await Effect.runPromise(find)
          if (until(refs) || Date.now() - started > 10_000) return refs
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
      const first = await startEchoNode(port, token)
      await Effect.runPromise(system.connect(first.url))
      const before = await listed((refs) => refs.length === 1)
      expect(before.length).toBe(1)
      const old = await Effect.runPromise(system.lookup("/user/echo", Echo, { node: "b" }))

      first.child.process.kill("SIGKILL")
      await first.child.exit
      const second = await startEchoNode(port, token)
      await Effect.runPromise(system.connect(second.url))
      // wait for the new incarnation's listing to arrive, and a little more for a stale one to go
      const after = await listed((refs) => refs.length === 1 && refs[0] !== old)
      const asks = await Promise.all(
        after.map((ref) =>
          Effect.runPromiseExit((ref as typeof old).ask(Echo.Echo({ text: "hi" }), { timeout: "10 seconds" }))
        )
      )
      console.log(
        `listed after the restart: ${after.length}; asks: ${asks.map((e) => (Exit.isSuccess(e) ? e.value : String(e.cause))).join(" | ")}`
      )
      expect(after.length).toBe(1)
      expect(asks.every(Exit.isSuccess)).toBe(true)
      second.child.process.kill("SIGTERM")
      await second.child.exited()
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 180_000)
})
