/**
 * Red team (session 14): a node SIGKILLed and started again at once on the same port, while this node's asks and a
 * session wait on the old incarnation. This node's detector bears long pauses and its next dial is seconds away,
 * so it learns of the crash only when it links with the new incarnation (remote-restart-lookup.test.ts does the
 * same for a lookup). The ask and the session must then fail typed, at once: not at their deadlines (60 s).
 */
import { ActorSystem, Session } from "@troupe/runtime"
import { Effect, Exit, Scope } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { Haggle } from "./fixtures/cli/haggle.ts"
import { Slow } from "./fixtures/cli/slow-shop.ts"
import { type Child, freePort, start, stopAll, testEnv } from "./support/child.ts"
import { patientNode } from "./support/patient-node.ts"
import { CLI, fixture, secret } from "./support/target-node.ts"

/** Minutes of child processes or heap rounds: run by `.ci/run` after the default suite (README, "Tests"). */
const long = process.env.TROUPE_LONG === "1"

afterAll(stopAll)

const startShop = async (port: number, token: string): Promise<{ child: Child; url: string }> => {
  const child = start([CLI, "node", "--name", "shop", "--listen", String(port), "--agents", fixture("slow-shop.ts")], {
    env: { ...testEnv(), TROUPE_TOKEN: token, QUOTE_DELAY_MS: "60000" }
  })
  const url = /listening on (\S+)/.exec(await child.line("listening on"))![1]!
  await child.line("ready:")
  return { child, url }
}

const buyer = Session.role(Haggle, "Buyer", (ep) =>
  Effect.gen(function* () {
    const quote = yield* (yield* ep.send("Seller", "request", { item: "lamp" })).receive()
    yield* (yield* quote.next.send("Seller", "accept", { price: quote.payload })).close()
    return quote.payload
  })
)

describe.runIf(long)("asks and a session waiting on a node that is SIGKILLed and started again at once", () => {
  it("fail typed once this node links with the new incarnation, not at their deadlines", async () => {
    const token = secret()
    const port = await freePort()
    const scope = Effect.runSync(Scope.make())
    try {
      const system = await patientNode(scope, token, { redialAfter: "30 seconds", askTimeout: "60 seconds" })
      const run = <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem>) =>
        Effect.runPromiseExit(Effect.provideService(effect, ActorSystem.ActorSystem, system))
      const first = await startShop(port, token)
      const node = await Effect.runPromise(system.connect(first.url))
      const slow = await Effect.runPromise(system.lookup("/user/slow", Slow, { node }))
      const seller = await Effect.runPromise(
        system.lookup("/user/seller", Session.protocolOf(Haggle, "Seller"), { node })
      )
      const buyerRef = await Effect.runPromise(system.spawn(buyer, { name: "buyer" }))
      const stamp = <A>(p: Promise<A>) => p.then((value) => ({ value, at: Date.now() }))
      const ask = stamp(run(slow.ask(Slow.Slow({ ms: 60_000 }), { timeout: "60 seconds" })))
      const session = stamp(
        run(Session.run(Haggle, { roles: { Buyer: buyerRef, Seller: seller }, stepTimeout: "60 seconds" }))
      )
      await first.child.line("quoting in 60000 ms")

      first.child.process.kill("SIGKILL")
      await first.child.exit
      const second = await startShop(port, token)
      await Effect.runPromise(system.connect(second.url))
      const linked = Date.now()
      const [asked, ran] = await Promise.all([ask, session])
      const report = (exit: Exit.Exit<unknown, unknown>) => (Exit.isFailure(exit) ? String(exit.cause) : "succeeded")
      console.log(`ask: ${asked.at - linked} ms after the link: ${report(asked.value)}`)
      console.log(`session: ${ran.at - linked} ms after the link: ${report(ran.value)}`)
      expect(Exit.isFailure(asked.value)).toBe(true)
      expect(Exit.isFailure(ran.value)).toBe(true)
      expect(asked.at - linked).toBeLessThan(10_000)
      expect(ran.at - linked).toBeLessThan(10_000)
      // the refs of the old incarnation, used again: an ask and a session fail at once, typed (not at 60 s)
      const staleStart = Date.now()
      const [staleAsk, staleSession] = await Promise.all([
        stamp(run(slow.ask(Slow.Slow({ ms: 1 }), { timeout: "60 seconds" }))),
        stamp(run(Session.run(Haggle, { roles: { Buyer: buyerRef, Seller: seller }, stepTimeout: "60 seconds" })))
      ])
      console.log(`stale ask: ${staleAsk.at - staleStart} ms: ${report(staleAsk.value)}`)
      console.log(`stale session: ${staleSession.at - staleStart} ms: ${report(staleSession.value)}`)
      expect(Exit.isFailure(staleAsk.value)).toBe(true)
      expect(Exit.isFailure(staleSession.value)).toBe(true)
      expect(staleAsk.at - staleStart).toBeLessThan(10_000)
      expect(staleSession.at - staleStart).toBeLessThan(10_000)
      second.child.process.kill("SIGTERM")
      await second.child.exited()
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 180_000)
})
