/**
 * Compile-time typing: `LocalTypeOf` projects protocol types, and endpoints only offer the legal
 * next move. Every `@ts-expect-error` line must fail to compile (the typecheck fails if one does not).
 *
 * Deep type equality is asserted through `Paths` (the local type flattened to a union of strings):
 * TypeScript treats instantiations nested more than a few levels deep as related, so a direct
 * `toEqualTypeOf` on a whole local type would not see a difference far down.
 */
import { Effect, Schema } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import { Choreography, type Endpoint, LocalType } from "../src/index.ts"
import type { Travel, TwoBuyer } from "./fixtures.ts"

type TypeName<T> = [T] extends [void] ? "" : T extends string ? "string" : T extends number ? "number" : "object"

/** Every path through a local type, as text (`continue X` ends a path). */
type Paths<L> =
  L extends LocalType.Send<infer P, infer Bs>
    ? Bs extends LocalType.Branch<infer Label, infer S extends Schema.Top, infer N>
      ? `${P}!${Label}(${TypeName<S["Type"]>}). ${Paths<N>}`
      : never
    : L extends LocalType.Receive<infer P, infer Bs>
      ? Bs extends LocalType.Branch<infer Label, infer S extends Schema.Top, infer N>
        ? `${P}?${Label}(${TypeName<S["Type"]>}). ${Paths<N>}`
        : never
      : L extends LocalType.Rec<infer X, infer Body>
        ? `rec ${X}. ${Paths<Body>}`
        : L extends LocalType.Var<infer X>
          ? `continue ${X}`
          : L extends LocalType.End
            ? "end"
            : "dynamic"

describe("LocalTypeOf", () => {
  it("projects Two-Buyer on each role, merging where a role is outside B's choice", () => {
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof TwoBuyer, "S">>>().toEqualTypeOf<
      | "A?title(string). A!quote(number). B!quote(number). A?buy(string). end"
      | "A?title(string). A!quote(number). B!quote(number). A?cancel(). end"
    >()
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof TwoBuyer, "A">>>().toEqualTypeOf<
      | "S!title(string). S?quote(number). B!split(number). B?accept(). S!buy(string). end"
      | "S!title(string). S?quote(number). B!split(number). B?reject(). S!cancel(). end"
    >()
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof TwoBuyer, "B">>>().toEqualTypeOf<
      "S?quote(number). A?split(number). A!accept(). end" | "S?quote(number). A?split(number). A!reject(). end"
    >()
  })

  it("projects a recursive protocol with nested choices relayed through the agent", () => {
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof Travel, "Customer">>>().toEqualTypeOf<
      | "rec Search. Agency!suggest(string). Agency?quote(number). Agency!accept(object). end"
      | "rec Search. Agency!suggest(string). Agency?quote(number). Agency!decline(). end"
      | "rec Search. Agency!suggest(string). Agency?full(). continue Search"
    >()
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof Travel, "Service">>>().toEqualTypeOf<
      | "rec Search. Agency?query(string). Agency!available(number). Agency?confirm(object). end"
      | "rec Search. Agency?query(string). Agency!available(number). Agency?reject(). end"
      | "rec Search. Agency?query(string). Agency!full(). continue Search"
    >()
  })

  it("projects the first layer exactly", () => {
    expectTypeOf<LocalType.LocalTypeOf<typeof TwoBuyer, "S">>().toExtend<
      LocalType.Receive<"A", LocalType.Branch<"title", typeof Schema.String, unknown>>
    >()
  })
})

const Login = Choreography.makeUnsafe("Login", ["Client", "Server"], ($) => [
  $.message("Client", "Server", "credentials", Schema.String),
  $.choice("Server", {
    welcome: [$.message("Server", "Client", "welcome", Schema.Void)],
    denied: [$.message("Server", "Client", "denied", Schema.String)]
  })
])

const Shop = Choreography.makeUnsafe("Shop", ["Buyer", "Seller", "A", "B"], ($) => [
  $.include(Login, { Client: "Buyer", Server: "Seller" }),
  $.parallel([$.message("Buyer", "Seller", "order", Schema.String)], [$.message("A", "B", "note", Schema.Number)]),
  $.message("Seller", "A", "shipped", Schema.Void)
])

describe("LocalTypeOf through include and parallel", () => {
  it("renames the included roles and keeps each parallel part to its roles", () => {
    expect(LocalType.print(LocalType.project(Shop, "A"))).toBe("B!note(number). Seller?shipped(). end")
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof Shop, "Buyer">>>().toEqualTypeOf<
      | "Seller!credentials(string). Seller?welcome(). Seller!order(string). end"
      | "Seller!credentials(string). Seller?denied(string). Seller!order(string). end"
    >()
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof Shop, "Seller">>>().toEqualTypeOf<
      | "Buyer?credentials(string). Buyer!welcome(). Buyer?order(string). A!shipped(). end"
      | "Buyer?credentials(string). Buyer!denied(string). Buyer?order(string). A!shipped(). end"
    >()
    expectTypeOf<
      Paths<LocalType.LocalTypeOf<typeof Shop, "A">>
    >().toEqualTypeOf<"B!note(number). Seller?shipped(). end">()
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof Shop, "B">>>().toEqualTypeOf<"A?note(number). end">()
  })
})

describe("LocalTypeOf merging", () => {
  it("merges receives that share a label by merging what follows", () => {
    const Relay = Choreography.makeUnsafe("Relay", ["A", "B", "C"], ($) => [
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
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof Relay, "C">>>().toEqualTypeOf<
      "A?go(). A?p(). end" | "A?go(). A?q(). end"
    >()
  })

  it("a continue a role cannot see ends that role's part (as at run time)", () => {
    const Chat = Choreography.makeUnsafe("Chat", ["A", "B", "C"], ($) => [
      $.message("C", "A", "hello", Schema.Void),
      $.loop("Talk", [
        $.choice("A", {
          more: [$.message("A", "B", "more", Schema.String), $.continue("Talk")],
          stop: [$.message("A", "B", "stop", Schema.Void)]
        })
      ])
    ])
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof Chat, "C">>>().toEqualTypeOf<"A!hello(). end">()
    expectTypeOf<Paths<LocalType.LocalTypeOf<typeof Chat, "B">>>().toEqualTypeOf<
      "rec Talk. A?more(string). continue Talk" | "rec Talk. A?stop(). end"
    >()
  })
})

declare const seller: Endpoint.For<typeof TwoBuyer, "S">
declare const buyerA: Endpoint.For<typeof TwoBuyer, "A">
declare const buyerB: Endpoint.For<typeof TwoBuyer, "B">

describe("Endpoint typing on Two-Buyer", () => {
  it("the seller can only receive the title, then quote A, then quote B, then receive buy or cancel", () => {
    const program = Effect.gen(function* () {
      // @ts-expect-error the seller receives first: no send in its first state
      seller.send("A", "quote", 1)
      // @ts-expect-error no close before the end
      seller.close()
      const title = yield* seller.receive()
      expectTypeOf(title.from).toEqualTypeOf<"A">()
      expectTypeOf(title.label).toEqualTypeOf<"title">()
      expectTypeOf(title.payload).toEqualTypeOf<string>()
      // @ts-expect-error the quote carries a number
      title.next.send("A", "quote", "forty-two")
      // @ts-expect-error the first quote goes to A, not B
      title.next.send("B", "quote", 42)
      // @ts-expect-error the seller sends no label "price"
      title.next.send("A", "price", 42)
      // @ts-expect-error a payload is required
      title.next.send("A", "quote")
      const quoted = yield* title.next.send("A", "quote", 42)
      // @ts-expect-error not yet: B's quote comes first
      quoted.receive()
      const quotedB = yield* quoted.send("B", "quote", 42)
      const decision = yield* quotedB.receive()
      expectTypeOf(decision.label).toEqualTypeOf<"buy" | "cancel">()
      switch (decision.label) {
        case "buy":
          expectTypeOf(decision.payload).toEqualTypeOf<string>()
          break
        case "cancel":
          expectTypeOf(decision.payload).toEqualTypeOf<void>()
          break
      }
      // @ts-expect-error at the end there is only close
      decision.next.send("A", "quote", 1)
      // @ts-expect-error at the end there is only close
      decision.next.receive()
      expectTypeOf(decision.next.close()).toEqualTypeOf<Effect.Effect<void, Endpoint.Failure<never>>>()
      yield* decision.next.close()
    })
    expectTypeOf(program).toExtend<Effect.Effect<unknown, Endpoint.Failure<never>>>()
  })

  it("the chooser picks one of its labels, with a void payload left out", () => {
    const program = Effect.gen(function* () {
      const quote = yield* buyerB.receive()
      const split = yield* quote.next.receive()
      expectTypeOf(split.payload).toEqualTypeOf<number>()
      // @ts-expect-error B offers only accept or reject
      split.next.send("A", "maybe")
      // @ts-expect-error B's choice goes to A
      split.next.send("S", "accept")
      const accepted = yield* split.next.send("A", "accept")
      yield* accepted.close()
    })
    expectTypeOf(program).toExtend<Effect.Effect<unknown, Endpoint.Failure<never>>>()
  })

  it("buyer A's branching receive narrows what follows on the label", () => {
    const program = Effect.gen(function* () {
      const titled = yield* buyerA.send("S", "title", "War and Peace")
      const quote = yield* titled.receive()
      const split = yield* quote.next.send("B", "split", quote.payload / 2)
      const answer = yield* split.receive()
      if (answer.label === "accept") {
        // @ts-expect-error after accept, A must buy, not cancel
        answer.next.send("S", "cancel")
        const bought = yield* answer.next.send("S", "buy", "War and Peace")
        return yield* bought.close()
      }
      // @ts-expect-error after reject, A must cancel, not buy
      answer.next.send("S", "buy", "War and Peace")
      const cancelled = yield* answer.next.send("S", "cancel")
      return yield* cancelled.close()
    })
    expectTypeOf(program).toExtend<Effect.Effect<unknown, Endpoint.Failure<never>>>()
  })
})

declare const customer: Endpoint.For<typeof Travel, "Customer">
declare const service: Endpoint.For<typeof Travel, "Service">

describe("Endpoint typing on a recursive protocol", () => {
  it("continue brings the endpoint back to the loop's first state", () => {
    const search = (
      ep: Endpoint.For<typeof Travel, "Customer">
    ): Effect.Effect<"booked" | "declined", Endpoint.Failure<never>> =>
      Effect.gen(function* () {
        const asked = yield* ep.send("Agency", "suggest", "Rome")
        const answer = yield* asked.receive()
        switch (answer.label) {
          case "full":
            // the loop starts again: the same endpoint type as at the start
            expectTypeOf(answer.next).toEqualTypeOf<typeof customer>()
            // @ts-expect-error after full, the customer suggests again; it cannot accept
            answer.next.send("Agency", "accept", { name: "Ada", card: "4242" })
            return yield* search(answer.next)
          case "quote": {
            expectTypeOf(answer.payload).toEqualTypeOf<number>()
            if (answer.payload > 100) {
              const declined = yield* answer.next.send("Agency", "decline")
              yield* declined.close()
              return "declined" as const
            }
            // @ts-expect-error accept carries credentials
            answer.next.send("Agency", "accept", "Ada")
            const accepted = yield* answer.next.send("Agency", "accept", { name: "Ada", card: "4242" })
            yield* accepted.close()
            return "booked" as const
          }
        }
      })
    expectTypeOf(search).returns.toEqualTypeOf<Effect.Effect<"booked" | "declined", Endpoint.Failure<never>>>()
    expectTypeOf(search).parameter(0).toEqualTypeOf<typeof customer>()
  })

  it("the service loops through full answers", () => {
    const program = Effect.gen(function* () {
      let ep = service
      for (;;) {
        const query = yield* ep.receive()
        expectTypeOf(query.payload).toEqualTypeOf<string>()
        if (query.payload !== "Oslo") {
          ep = yield* query.next.send("Agency", "full")
          continue
        }
        // @ts-expect-error the service answers the agency, not the customer
        query.next.send("Customer", "available", 120)
        const offered = yield* query.next.send("Agency", "available", 120)
        const outcome = yield* offered.receive()
        if (outcome.label === "confirm")
          expectTypeOf(outcome.payload).toEqualTypeOf<{ readonly name: string; readonly card: string }>()
        return yield* outcome.next.close()
      }
    })
    expectTypeOf(program).toExtend<Effect.Effect<unknown, Endpoint.Failure<never>>>()
  })
})

describe("Builder typing", () => {
  it("refuses undeclared roles and self-messages at compile time", () => {
    Choreography.make("P", ["A", "B"], ($) => [
      // @ts-expect-error C is not a declared role
      $.message("A", "C", "x", Schema.String)
    ])
    Choreography.make("P", ["A", "B"], ($) => [
      // @ts-expect-error a role cannot send to itself
      $.message("A", "A", "x", Schema.String)
    ])
    Choreography.make("P", ["A", "B"], ($) => [
      // @ts-expect-error only a declared role can choose
      $.choice("C", { x: [$.message("A", "B", "x", Schema.String)] })
    ])
  })
})

describe("graceful degradation", () => {
  it("a step list that is not a tuple gives untyped moves (still checked at run time)", () => {
    const workers = ["W1", "W2"] as const
    const Fan = Choreography.makeUnsafe("Fan", ["S", "W1", "W2"], ($) => [
      $.message("W1", "S", "ready", Schema.Void),
      ...workers.map((w) => $.message("S", w, "job", Schema.Number))
    ])
    // The tuple prefix stays typed; what follows the spread is untyped.
    type Ready = Effect.Success<ReturnType<Endpoint.For<typeof Fan, "S">["receive"]>>
    expectTypeOf<Ready["label"]>().toEqualTypeOf<"ready">()
    expectTypeOf<Ready["next"]>().toEqualTypeOf<Endpoint.UntypedEndpoint<never>>()
    expect(LocalType.print(LocalType.project(Fan, "S"))).toBe("W1?ready(). W1!job(number). W2!job(number). end")
  })
})
