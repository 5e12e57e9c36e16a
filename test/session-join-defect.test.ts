/**
 * A defect while a session's coordinator asks its roles to join (not an answer of a role: the coordinator's own call
 * threw) aborts the session, with a typed cause that `Session.run`'s caller gets. Before (sessionJoin.ts `join`
 * caught it, logged "Could not start the session" and went on), the session waited for ever: no Join was in flight,
 * so no ask deadline and no step deadline ran out.
 *
 * The public path to it: a role bound, in plain JavaScript, to a wrapper of its participant's ref (a `Proxy`, say
 * for logging) that is an actor ref to the bindings check but whose `ask` throws as it is called.
 */
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { Effect, Exit, Schema } from "effect"
import { describe, expect, it } from "vitest"

const Ping = Choreography.makeUnsafe("Ping", ["A", "B"], ($) => [
  $.message("A", "B", "ping", Schema.String),
  $.message("B", "A", "pong", Schema.String)
])
const a = Session.role(Ping, "A", (ep) =>
  Effect.map(
    Effect.flatMap(ep.send("B", "ping", "hi"), (next) => next.receive()),
    (pong) => pong.payload
  )
)
const b = Session.role(Ping, "B", (ep) => Effect.flatMap(ep.receive(), (ping) => ping.next.send("A", "pong", "ho")))

type Roles = Parameters<typeof Session.run<typeof Ping, never>>[1]["roles"]

/** `ref` as a wrapper whose `ask` throws (and which is not recognised as a ref of this node, so it is asked). */
const throwingAsk = (ref: object) =>
  new Proxy(ref, {
    getPrototypeOf: () => Object.prototype,
    get: (target, key, receiver) => {
      if (key === "ask")
        return () => {
          throw new Error("the wrapper's ask threw")
        }
      const value = Reflect.get(target, key, receiver)
      return typeof value === "function" ? value.bind(target) : value
    }
  })

describe("a defect while the coordinator joins a role", () => {
  it("aborts the session with a typed cause that Session.run's caller gets (it waited for ever)", async () => {
    const exit = await Effect.runPromise(
      Effect.gen(function* () {
        const A = yield* ActorSystem.spawn(a)
        const B = yield* ActorSystem.spawn(b)
        const roles = { A, B: throwingAsk(B) } as unknown as Roles
        return yield* Effect.exit(
          Session.run(Ping, { roles, stepTimeout: "2 seconds" }).pipe(
            Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error("Session.run hung")) })
          )
        )
      }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer()))
    )
    expect(Exit.isFailure(exit), "the session ended").toBe(true)
    if (Exit.isSuccess(exit)) return
    const reason = exit.cause.reasons[0]
    expect(reason?._tag, String(exit.cause)).toBe("Fail")
    const error = (reason as { readonly error: Session.SessionAborted }).error
    expect(error._tag).toBe("SessionAborted")
    expect(error.cause).toMatchObject({ _tag: "ParticipantStopped", role: "B", reason: "unreachable" })
    expect(error.cause.message).toContain("the wrapper's ask threw")
  }, 20_000)
})
