/**
 * Making protocols (`Choreography.make`, `makeUnsafe`) and composing them: included sub-protocols, parallel parts,
 * merged receives, loops. (What makes a protocol refused: `WellFormedness.test.ts`.)
 */
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography, LocalType } from "../src/index.ts"
import { TwoBuyer } from "./fixtures.ts"

describe("Choreography.make", () => {
  it("keeps the name, roles and steps, and projects every role", () => {
    expect(TwoBuyer.name).toBe("TwoBuyer")
    expect(TwoBuyer.roles).toEqual(["A", "B", "S"])
    expect(TwoBuyer.steps[0]).toMatchObject({ _tag: "Message", from: "A", to: "S", label: "title" })
    expect([...TwoBuyer.localTypes.keys()]).toEqual(["A", "B", "S"])
    expect([...TwoBuyer.machines.keys()]).toEqual(["A", "B", "S"])
  })

  it("succeeds as an Effect for a well-formed protocol", () => {
    const p = Effect.runSync(
      Choreography.make("Ping", ["A", "B"], ($) => [
        $.message("A", "B", "ping", Schema.Void),
        $.message("B", "A", "pong", Schema.Void)
      ])
    )
    expect(LocalType.print(LocalType.project(p, "A"))).toBe("B!ping(). B?pong(). end")
  })

  it("makeUnsafe throws the ProtocolDefinitionError", () => {
    expect(() =>
      Choreography.makeUnsafe("P", ["A", "B"], ($) => [$.choice("A", { x: [$.message("B", "A", "x", Schema.Void)] })])
    ).toThrow(Choreography.ProtocolDefinitionError)
  })
})

describe("composition", () => {
  const Login = Choreography.makeUnsafe("Login", ["Client", "Server"], ($) => [
    $.message("Client", "Server", "credentials", Schema.String),
    $.choice("Server", {
      welcome: [$.message("Server", "Client", "welcome", Schema.Void)],
      denied: [$.message("Server", "Client", "denied", Schema.String), $.end]
    })
  ])

  it("includes a sub-protocol by name, renaming its roles", () => {
    const Shop = Choreography.makeUnsafe("Shop", ["Buyer", "Shop"], ($) => [
      $.include(Login, { Client: "Buyer", Server: "Shop" }),
      $.message("Buyer", "Shop", "order", Schema.String)
    ])
    expect(Shop.steps[0]).toMatchObject({ _tag: "Include", protocol: "Login", roles: { Client: "Buyer" } })
    expect(LocalType.print(LocalType.project(Shop, "Buyer"))).toBe(
      "Shop!credentials(string). Shop?{welcome(). Shop!order(string). end, denied(string). end}"
    )
    // A bank told nothing of the login cannot know whether a payment will come.
    expect(() =>
      Choreography.makeUnsafe("Shop", ["Buyer", "Shop", "Bank"], ($) => [
        $.include(Login, { Client: "Buyer", Server: "Shop" }),
        $.message("Buyer", "Bank", "pay", Schema.Number)
      ])
    ).toThrow(/role Bank cannot learn which branch Shop chose/)
  })

  it("runs parallel parts side by side, then continues", () => {
    const P = Choreography.makeUnsafe("Fork", ["Lead", "A", "B", "C", "D"], ($) => [
      $.message("Lead", "A", "start", Schema.Void),
      $.parallel(
        [$.message("A", "B", "x", Schema.Number), $.message("B", "A", "y", Schema.Number)],
        [$.message("C", "D", "z", Schema.String)]
      ),
      $.message("A", "Lead", "done", Schema.Void),
      $.message("D", "Lead", "done", Schema.Void)
    ])
    const printed = Object.fromEntries(P.roles.map((r) => [r, LocalType.print(LocalType.project(P, r))]))
    expect(printed).toEqual({
      Lead: "A!start(). A?done(). D?done(). end",
      A: "Lead?start(). B!x(number). B?y(number). Lead!done(). end",
      B: "A?x(number). A!y(number). end",
      C: "D!z(string). end",
      D: "C?z(string). Lead!done(). end"
    })
  })

  it("merges receives that share a label by merging what follows (full merge)", () => {
    const P = Choreography.makeUnsafe("Relay", ["A", "B", "C"], ($) => [
      $.choice("A", {
        fast: [
          $.message("A", "B", "fast", Schema.Void),
          $.message("A", "C", "go", Schema.Void),
          $.message("A", "C", "p", Schema.Void)
        ],
        slow: [
          $.message("A", "B", "slow", Schema.Void),
          $.message("A", "C", "go", Schema.Void),
          $.message("A", "C", "q", Schema.Void)
        ]
      })
    ])
    expect(LocalType.print(LocalType.project(P, "C"))).toBe("A?go(). A?{p(). end, q(). end}")
  })

  it("a role outside a loop it does not take part in is not held up by it", () => {
    const P = Choreography.makeUnsafe("Chat", ["A", "B", "C"], ($) => [
      $.message("C", "A", "hello", Schema.Void),
      $.loop("Talk", [
        $.choice("A", {
          more: [$.message("A", "B", "more", Schema.String), $.continue("Talk")],
          stop: [$.message("A", "B", "stop", Schema.Void)]
        })
      ])
    ])
    expect(LocalType.print(LocalType.project(P, "C"))).toBe("A!hello(). end")
    expect(LocalType.print(LocalType.project(P, "B"))).toBe("rec Talk. A?{more(string). continue Talk, stop(). end}")
  })
})
