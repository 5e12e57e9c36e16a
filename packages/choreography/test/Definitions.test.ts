/**
 * Friendlier definitions (issue 12, finding 6): payload schemas compare by structure, branch names agree
 * with the labels their branches send (so a duplicate branch key is caught at run time too), roles held
 * in `string` variables type-check without casts, and a builder that throws is a definition error.
 */
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography, LocalType } from "../src/index.ts"

const V = Schema.Void

const result = (made: Effect.Effect<Choreography.Protocol, Choreography.ProtocolDefinitionError>) =>
  Effect.runSync(Effect.result(made))

const relayed = (x: Schema.Top, y: Schema.Top) =>
  Choreography.make("Relayed", ["A", "B", "C"], ($) => [
    $.choice("A", {
      x: [$.message("A", "B", "x", V), $.message("A", "C", "go", x)],
      y: [$.message("A", "B", "y", V), $.message("A", "C", "go", y)]
    })
  ])

describe("definitions", () => {
  it("compares payload schemas by structure: the same Struct written inline twice is one payload", () => {
    const made = result(
      relayed(
        Schema.Struct({ n: Schema.Number, tags: Schema.Array(Schema.String.check(Schema.isMinLength(2))) }),
        Schema.Struct({ n: Schema.Number, tags: Schema.Array(Schema.String.check(Schema.isMinLength(2))) })
      )
    )
    expect(made._tag).toBe("Success")
    if (made._tag === "Success")
      expect(LocalType.print(LocalType.project(made.success, "C"))).toBe("A?go({ n: number, tags: string[] }). end")
  })

  it("refuses payloads that differ, saying so even when they print alike", () => {
    const differ = result(relayed(Schema.Struct({ n: Schema.Number }), Schema.Struct({ n: Schema.String })))
    expect(differ._tag).toBe("Failure")
    if (differ._tag === "Failure")
      expect(differ.failure.problems[0]!.message).toContain(
        'it does `A?go({ n: number }). end` but in branch "y" it does `A?go({ n: string }). end` (label "go" from A carries different payload schemas)'
      )
    const alike = result(relayed(Schema.String, Schema.String.check(Schema.isMinLength(3))))
    expect(alike._tag).toBe("Failure")
    if (alike._tag === "Failure")
      expect(alike.failure.problems[0]!.message).toContain(
        'label "go" from A carries different payload schemas, which print alike: they differ in their checks, transformations or annotations'
      )
  })

  it("refuses a branch whose name is not the label it sends", () => {
    const made = result(
      Choreography.make("Names", ["A", "B"], ($) => [
        $.choice("A", { accept: [$.message("A", "B", "accept", V)], reject: [$.message("A", "B", "refuse", V)] })
      ])
    )
    expect(made._tag).toBe("Failure")
    if (made._tag === "Failure")
      expect(made.failure.problems).toEqual([
        expect.objectContaining({ code: "BranchNameMismatch", branch: "reject", label: "refuse", role: "A" })
      ])
  })

  it("catches a branch key written twice at run time, where JavaScript keeps only the last", () => {
    // `{ accept: [...accept...], accept: [...reject...] }` leaves one branch named accept that sends reject.
    const branches = { ...{ accept: [{ label: "accept" }] }, ...{ accept: [{ label: "reject" }] } }
    const made = result(
      Choreography.make("Twice", ["A", "B"], ($) => [
        $.choice("A", {
          [Object.keys(branches)[0]!]: [$.message("A", "B", branches.accept[0]!.label, V)],
          decline: [$.message("A", "B", "decline", V)]
        })
      ])
    )
    expect(made._tag).toBe("Failure")
    if (made._tag === "Failure")
      expect(made.failure.problems[0]).toMatchObject({ code: "BranchNameMismatch", branch: "accept", label: "reject" })
  })

  it("types roles held in string variables without casts", () => {
    const roles: ReadonlyArray<string> = ["Client", "Server"]
    const [client, server] = roles as [string, string]
    const made = result(
      Choreography.make("Dynamic", roles, ($) => [
        $.message(client, server, "ask", Schema.String),
        $.message(server, client, "answer", Schema.String)
      ])
    )
    expect(made._tag).toBe("Success")
    if (made._tag === "Success")
      expect(LocalType.print(LocalType.project(made.success, "Client"))).toBe(
        "Server!ask(string). Server?answer(string). end"
      )
  })

  it("refuses a builder that throws with a definition error naming the protocol", () => {
    const made = result(
      Choreography.make("Throws", ["A", "B"], () => {
        throw new Error("no steps today")
      })
    )
    expect(made._tag).toBe("Failure")
    if (made._tag === "Failure") {
      expect(made.failure.protocol).toBe("Throws")
      expect(made.failure.problems[0]!.message).toBe("top level: building the steps threw: Error: no steps today")
    }
  })
})
