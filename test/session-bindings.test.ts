/**
 * Sessions whose roles are bound wrongly, as code that builds the bindings at run time (plain JavaScript, a
 * `Record<string, ActorRef>` from configuration, `Array(n).fill(ref)`) can: TypeScript's `Bindings` type does
 * not stop these. Each should fail `Session.run` at once with a typed error that says which role is bound
 * wrongly and what to give. On main (ff471ef):
 * - one actor bound to two members of a family: the session runs, and the author's step deadline expires waiting
 *   for `Reviewer[1]` (the message says nothing of the binding);
 * - an actor bound to a single role and to a family member: a protocol violation ("expected Reviewer[0]?verdict
 *   but got Author?draft");
 * - a role not bound, or a single role bound to a list: "Could not start the session TypeError ..." is logged
 *   (sessionJoin.ts catches and logs it) and `Session.run` never ends (HANGS: a step deadline does not help);
 * - a family bound to one ref (not a list): a TypeError defect (`members.forEach is not a function`);
 * - a family bound to `[]`: a ProtocolDefinitionError defect.
 * Skipped: the fix is in runtime choreography Session.ts (`bind`) and internal/sessionJoin.ts (an error when
 * starting is logged and swallowed), files of the session engine other engineers work in; posted on BOARD.md.
 */
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { Effect, Exit, Schema } from "effect"
import { describe, expect, it } from "vitest"

const Review = Choreography.makeUnsafe(
  "Review",
  ["Author", "Reviewer"],
  ($) => [
    $.message("Author", "Reviewer", "draft", Schema.String),
    $.message("Reviewer", "Author", "verdict", Schema.String)
  ],
  { families: ["Reviewer"] }
)
const author = Session.role(Review, "Author", (ep) =>
  Effect.map(
    Effect.flatMap(ep.send("Reviewer", "draft", "d"), (next) => next.receive()),
    (verdicts) => verdicts.payload
  )
)
const reviewer = Session.role(Review, "Reviewer", (ep) =>
  Effect.flatMap(ep.receive(), (draft) => draft.next.send("Author", "verdict", "ok"))
)

type Roles = Parameters<typeof Session.run<typeof Review, never>>[1]["roles"]

/** Runs a session with `roles` as built at run time; answers how it ended, within 5 s (a hang fails the test). */
const runWith = (roles: (refs: { A: unknown; r1: unknown; r2: unknown }) => Record<string, unknown>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const A = yield* ActorSystem.spawn(author)
      const r1 = yield* ActorSystem.spawn(reviewer)
      const r2 = yield* ActorSystem.spawn(reviewer)
      const exit = yield* Effect.exit(
        Session.run(Review, { roles: roles({ A, r1, r2 }) as unknown as Roles, stepTimeout: "2 seconds" }).pipe(
          Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error("Session.run hung")) })
        )
      )
      return exit
    }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer()))
  )

/** A failure (not a defect) at once, whose message names `role` and says the binding is at fault. */
const refusedNaming = (exit: Exit.Exit<unknown, unknown>, role: string) => {
  expect(Exit.isFailure(exit)).toBe(true)
  if (Exit.isSuccess(exit)) return
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  expect(failure, String(exit.cause)).toBeDefined()
  expect(String((failure as { error: unknown }).error)).toContain(role)
  expect(String((failure as { error: unknown }).error)).toMatch(/bound/)
}

describe.skip("a session whose roles are bound wrongly (skipped: see the file's comment)", () => {
  it("one actor bound to two members of a family", async () => {
    refusedNaming(await runWith(({ A, r1 }) => ({ Author: A, Reviewer: [r1, r1] })), "Reviewer[1]")
  })
  it("one actor bound to a single role and a member", async () => {
    refusedNaming(await runWith(({ A, r2 }) => ({ Author: A, Reviewer: [A, r2] })), "Reviewer[0]")
  })
  it("a role not bound (was: hangs)", async () => {
    refusedNaming(await runWith(({ r1, r2 }) => ({ Reviewer: [r1, r2] })), "Author")
  })
  it("a single role bound to a list (was: hangs)", async () => {
    refusedNaming(await runWith(({ A, r1, r2 }) => ({ Author: [A], Reviewer: [r1, r2] })), "Author")
  })
  it("a family bound to one actor, not a list (was: a TypeError defect)", async () => {
    refusedNaming(await runWith(({ A, r1 }) => ({ Author: A, Reviewer: r1 })), "Reviewer")
  })
  it("a family bound to no actor (was: a ProtocolDefinitionError defect)", async () => {
    refusedNaming(await runWith(({ A }) => ({ Author: A, Reviewer: [] })), "Reviewer")
  })
})
