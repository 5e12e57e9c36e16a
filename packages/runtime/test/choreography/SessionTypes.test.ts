/**
 * Compile-time typing of sessions: a role can only be bound to a participant of that role, and a
 * session's results are typed by its participants. Every `@ts-expect-error` line must fail to compile.
 */
import { Effect } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import { type ActorRef, Session } from "../../src/index.ts"
import { TwoBuyer } from "./fixtures.ts"

const seller = Session.role(TwoBuyer, "S", (ep) => Effect.map(ep.receive(), (title) => title.payload.length))
const buyerA = Session.role(TwoBuyer, "A", (ep) => ep.send("S", "title", "Dune"))
declare const S: ActorRef.ActorRef<(typeof seller)["protocol"]>
declare const A: ActorRef.ActorRef<(typeof buyerA)["protocol"]>
declare const B: ActorRef.ActorRef<Session.Participant<typeof TwoBuyer, "B">>

describe("Session types", () => {
  it("binds each role to a participant of that role only", () => {
    const run = () => Session.run(TwoBuyer, { roles: { A, B, S } })
    // @ts-expect-error the seller cannot play A
    const wrong = () => Session.run(TwoBuyer, { roles: { A: S, B, S } })
    // @ts-expect-error every role needs a participant
    const missing = () => Session.run(TwoBuyer, { roles: { A, B } })
    expect([run, wrong, missing].length).toBe(3)
  })

  it("types each role's result by its program (a program that ends with a move has none)", () => {
    type Results = Effect.Success<
      ReturnType<typeof Session.run<typeof TwoBuyer, { A: typeof A; B: typeof B; S: typeof S }>>
    >["results"]
    expectTypeOf<Results["S"]>().toEqualTypeOf<number>()
    expectTypeOf<Results["A"]>().toEqualTypeOf<undefined>()
    expectTypeOf<Results["B"]>().toEqualTypeOf<unknown>()
  })
})
