/**
 * The conformance corpus at run time: for every good protocol, a session with a participant per role
 * runs to completion, and a message injected out of order fails fast with a ProtocolViolation. Each
 * run goes over every topology (see support/topology.ts).
 */
import { type ActorRef, ActorSystem, Monitor, type Protocol, Session } from "@troupe/runtime"
import { Effect, Exit, type Scope } from "effect"
import { describe, expect, it } from "vitest"
import { uncheckedPeer } from "../../packages/runtime/test/choreography/fixtures.ts"
import { corpus } from "./corpus.ts"
import { driver, injection } from "./support/driver.ts"
import { type Places, topologies } from "./support/topology.ts"

/** Runs `body` with the places of `topology`, sessions starting on its home system. */
const over = <A, E>(
  places: Effect.Effect<Places, never, Scope.Scope>,
  body: (places: Places) => Effect.Effect<A, E, ActorSystem.ActorSystem>
) =>
  Effect.runPromiseExit(
    Effect.scoped(Effect.flatMap(places, (p) => body(p).pipe(Effect.provideService(ActorSystem.ActorSystem, p.home))))
  )

for (const topology of topologies) {
  describe(`conformance: sessions over ${topology.name}`, () => {
    for (const { protocol } of corpus) {
      it(`${protocol.name}: a full run completes`, async () => {
        const exit = await over(topology.places, (places) =>
          Effect.gen(function* () {
            const roles: Record<string, ActorRef.ActorRef<Protocol.Any>> = {}
            for (const role of protocol.roles) roles[role] = yield* places.spawn(role, driver(protocol, role))
            expect(new Set(Object.values(roles).map((ref) => ref.node)).size).toBe(topology.nodes)
            return yield* Session.run(protocol, { roles: roles as never, stepTimeout: "10 seconds" })
          })
        )
        if (Exit.isFailure(exit)) throw new Error(`the run failed: ${String(exit.cause)}`)
        const done = exit.value
        expect(Object.keys(done.results).sort()).toEqual([...protocol.roles].sort())
        for (const role of protocol.roles) expect(done.results[role]).toBeGreaterThan(0)
        // every message sent was received, in the order of its channel
        const sent = done.trace.filter((e) => e._tag === "Sent").map((e) => `${e.from}>${e.to}:${e.label}`)
        const received = done.trace.filter((e) => e._tag === "Received").map((e) => `${e.from}>${e.to}:${e.label}`)
        expect(received.sort()).toEqual(sent.sort())
      })

      it(`${protocol.name}: a message injected out of order fails fast with a ProtocolViolation`, async () => {
        const bad = injection(protocol)
        const hostile = uncheckedPeer(protocol, bad.from, (send) => send(bad.to, bad.label, bad.payload))
        const exit = await over(topology.places, (places) =>
          Effect.gen(function* () {
            const roles: Record<string, unknown> = {}
            for (const role of protocol.roles)
              roles[role] =
                role === bad.from
                  ? yield* places.spawn(role, hostile.behavior)
                  : yield* places.spawn(role, driver(protocol, role))
            return yield* Session.run(protocol, { roles: roles as never, stepTimeout: "10 seconds" })
          })
        )
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
        expect(error).toBeInstanceOf(Session.SessionAborted)
        const cause = (error as Session.SessionAborted).cause
        expect(cause).toBeInstanceOf(Monitor.ProtocolViolation)
        expect(cause).toMatchObject({ protocol: protocol.name, role: bad.to, got: `${bad.from}?${bad.label}` })
        expect(hostile.aborts).toEqual([cause])
      })
    }
  })
}
