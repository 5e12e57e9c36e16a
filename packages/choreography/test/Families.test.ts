/**
 * Role families (issue 12, finding 5): "n reviewers" written once, their number known when a session
 * starts. A message to a family goes to every member, one from a family comes from every member, a choice
 * told to a family reaches every member; each member has its own local type, state machine and monitor,
 * and endpoints are typed per member (the family's side) and for the single roles (a gather gives the
 * members' payloads as a list).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { expect, expectTypeOf } from "vitest"
import { Choreography, Endpoint, LocalType, Monitor, StateMachine } from "../src/index.ts"
import { network, Review } from "./fixtures.ts"

const V = Schema.Void

const author = (ep: Endpoint.For<typeof Review, "Author">) =>
  Effect.gen(function* () {
    let round = ep
    for (let n = 1; ; n++) {
      const drafted = yield* round.send("Reviewer", "draft", `draft ${n}`)
      const verdicts = yield* drafted.receive()
      expectTypeOf(verdicts.payload).toEqualTypeOf<
        ReadonlyArray<{ readonly approve: boolean; readonly reason: string }>
      >()
      if (verdicts.payload.every((v) => v.approve)) {
        yield* (yield* verdicts.next.send("Reviewer", "accepted")).close()
        return n
      }
      round = yield* verdicts.next.send("Reviewer", "revise")
    }
  })

/** A reviewer that approves from round `approveFrom` on. */
const reviewer = (ep: Endpoint.For<typeof Review, "Reviewer">, approveFrom: number) =>
  Effect.gen(function* () {
    let round = ep
    for (let n = 1; ; n++) {
      const draft = yield* round.receive()
      expectTypeOf(draft.payload).toEqualTypeOf<string>()
      const answered = yield* draft.next.send("Author", "verdict", { approve: n >= approveFrom, reason: draft.payload })
      const outcome = yield* answered.receive()
      if (outcome.label === "accepted") return yield* outcome.next.close()
      round = outcome.next
    }
  })

describe("role families", () => {
  it("checks and projects a family as one role, printing its members' local type", () => {
    expect(LocalType.print(LocalType.project(Review, "Reviewer"))).toBe(
      "rec Round. Author?draft(string). Author!verdict({ approve: boolean, reason: string }). Author?{accepted(). end, revise(). continue Round}"
    )
    expect([...Review.families]).toEqual(["Reviewer"])
  })

  it("instantiates a family for a session: one role, local type and machine per member", () => {
    const three = Effect.runSync(Choreography.instantiate(Review, { Reviewer: 3 }))
    expect(three.roles).toEqual(["Author", "Reviewer[0]", "Reviewer[1]", "Reviewer[2]"])
    expect(LocalType.print(LocalType.project(three, "Reviewer[1]"))).toBe(
      "rec Round. Author?draft(string). Author!verdict({ approve: boolean, reason: string }). Author?{accepted(). end, revise(). continue Round}"
    )
    expect(StateMachine.print(StateMachine.of(three, "Author"))).toContain(
      "0: Reviewer[0]!draft(string) -> 1\n  1: Reviewer[1]!draft(string) -> 2\n  2: Reviewer[2]!draft(string) -> 3\n  3: Reviewer[0]?verdict"
    )
    // Made once per size.
    expect(Effect.runSync(Choreography.instantiate(Review, { Reviewer: 3 }))).toBe(three)
  })

  it("monitors each member: a member that answers for another is refused", () => {
    const two = Effect.runSync(Choreography.instantiate(Review, { Reviewer: 2 }))
    const m = Monitor.make(two, "Author", "s")
    let state = Monitor.send(m, m.start, "Reviewer[0]", "draft", "d") as number
    state = Monitor.send(m, state, "Reviewer[1]", "draft", "d") as number
    const wrong = Monitor.receive(m, state, "Reviewer[1]", "verdict", { approve: true, reason: "" })
    expect(Monitor.isViolation(wrong) && wrong.reason).toBe("peer")
  })

  it.effect("runs with typed endpoints: a send to the family reaches every member, a receive gathers them", () =>
    Effect.gen(function* () {
      const sizes = { Reviewer: 3 }
      const three = yield* Choreography.instantiate(Review, sizes)
      const net = yield* network(three.roles)
      const join = (role: "Author" | "Reviewer", member?: number) =>
        ({
          session: "s",
          port: net.port(member === undefined ? role : `${role}[${member}]`),
          sizes,
          ...(member === undefined ? {} : { member })
        }) as const
      const [rounds] = yield* Effect.all(
        [
          author(endpointOf("Author", join("Author"))),
          reviewer(endpointOf("Reviewer", join("Reviewer", 0)), 1),
          reviewer(endpointOf("Reviewer", join("Reviewer", 1)), 2),
          reviewer(endpointOf("Reviewer", join("Reviewer", 2)), 1)
        ],
        { concurrency: "unbounded" }
      )
      assert.strictEqual(rounds, 2)
      assert.deepStrictEqual(net.violations, [])
      assert.deepStrictEqual(net.sent().slice(0, 3), [
        "Author->Reviewer[0]:draft",
        "Author->Reviewer[1]:draft",
        "Author->Reviewer[2]:draft"
      ])
      // Round 2 after a revise to every member; then accepted, to every member.
      assert.deepStrictEqual(
        net
          .sent()
          .filter((m) => m.startsWith("Author->"))
          .map((m) => m.split(":")[1]),
        [
          "draft",
          "draft",
          "draft",
          "revise",
          "revise",
          "revise",
          "draft",
          "draft",
          "draft",
          "accepted",
          "accepted",
          "accepted"
        ]
      )
    })
  )

  it("refuses a family that chooses, messages between families, and sizes below one", () => {
    const chooses = Effect.runSync(
      Effect.result(
        Choreography.make(
          "Chooses",
          ["Boss", "Worker"],
          ($) => [
            $.choice("Worker", {
              yes: [$.message("Worker", "Boss", "yes", V)],
              no: [$.message("Worker", "Boss", "no", V)]
            })
          ],
          { families: ["Worker"] }
        )
      )
    )
    expect(chooses._tag === "Failure" && chooses.failure.problems.map((p) => p.code)).toContain("FamilyChoice")
    const between = Effect.runSync(
      Effect.result(
        Choreography.make("Between", ["W", "V"], ($) => [$.message("W", "V", "x", V)], { families: ["W", "V"] })
      )
    )
    expect(between._tag === "Failure" && between.failure.problems[0]).toMatchObject({ code: "FamilyMessage" })
    const none = Effect.runSync(Effect.result(Choreography.instantiate(Review, { Reviewer: 0 })))
    expect(none._tag === "Failure" && none.failure.problems[0]).toMatchObject({ code: "InvalidFamilySize" })
  })
})

/** The endpoint of a role (or member) of Review in a session with the given sizes. */
const endpointOf = <R extends "Author" | "Reviewer">(
  role: R,
  options: {
    readonly session: string
    readonly port: Endpoint.Port
    readonly sizes: { Reviewer: number }
    readonly member?: number
  }
) => Endpoint.make(Review, role, options)
