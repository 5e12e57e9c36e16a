import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Choreography, Endpoint, Protocol, type SystemEvent } from "@troupe/runtime"
import { Cause, Effect, Layer, Schema, Stream } from "effect"
import { network } from "../../runtime/test/choreography/fixtures.ts"
import { type LanguageModel, LlmRole, type Message, ScriptedModel, Tool, Turn } from "../src/index.ts"

/** A buyer asks for an item, the seller quotes, the buyer accepts at a price or rejects. */
const Haggle = Choreography.makeUnsafe("Haggle", ["Buyer", "Seller"], ($) => [
  $.message("Buyer", "Seller", "request", Schema.Struct({ item: Schema.String })),
  $.message("Seller", "Buyer", "quote", Schema.Finite),
  $.choice("Buyer", {
    accept: [$.message("Buyer", "Seller", "accept", Schema.Struct({ price: Schema.Finite }))],
    reject: [$.message("Buyer", "Seller", "reject", Schema.Void)]
  })
])

/** The seller: ordinary code on a typed endpoint. */
const seller = (ep: Endpoint.For<typeof Haggle, "Seller">, price: number) =>
  Effect.gen(function* () {
    const request = yield* ep.receive()
    const quoted = yield* request.next.send("Buyer", "quote", price)
    const decision = yield* quoted.receive()
    yield* decision.next.close()
    return decision.label === "accept"
      ? `sold ${request.payload.item} for ${decision.payload.price}`
      : `no sale of ${request.payload.item}`
  })

const move = (to: string, label: string, payload: unknown) => Turn.object({ move: { to, label, payload } })

const lastUser = (messages: ReadonlyArray<Message.Message>) =>
  messages.findLast((m): m is Message.User => m._tag === "User")?.text ?? ""

/** Plays Haggle: the buyer is the model, the seller is code; answers both results. */
const haggle = <E, R>(
  buyer: (endpoint: Endpoint.For<typeof Haggle, "Buyer">) => Effect.Effect<LlmRole.Result, E, R>,
  price = 30
) =>
  Effect.gen(function* () {
    const net = yield* network(Haggle.roles)
    const join = <R extends "Buyer" | "Seller">(role: R) =>
      Endpoint.make(Haggle, role, { session: "s-1", port: net.port(role) })
    const [played, sold] = yield* Effect.all([buyer(join("Buyer")), seller(join("Seller"), price)], {
      concurrency: "unbounded"
    })
    return { net, played, sold }
  })

describe("LlmRole", () => {
  it.effect("plays a role in a two-role session; out-of-protocol moves are fed back and corrected", () =>
    Effect.gen(function* () {
      const rejected: Array<number> = []
      const { net, played, sold } = yield* haggle(
        LlmRole.play({
          system: "You buy things cheaply.",
          prompt: "Buy a lamp for at most 40.",
          maxCorrections: 3,
          onRejected: (state) => Effect.sync(() => rejected.push(state))
        })
      )
      assert.strictEqual(sold, "sold lamp for 30")
      assert.deepStrictEqual(net.sent(), ["Buyer->Seller:request", "Seller->Buyer:quote", "Buyer->Seller:accept"])
      // nothing out of protocol ever reached the session
      assert.deepStrictEqual(net.violations, [])
      assert.deepStrictEqual(rejected, [2, 2, 2])
      assert.strictEqual(played.corrections, 3)

      const requests = yield* ScriptedModel.requests
      assert.strictEqual(requests.length, 5)
      const [first, second, third, fourth, fifth] = requests.map((r) => r.messages)
      assert.include((first![0] as Message.System).text, "You buy things cheaply.")
      assert.include((first![0] as Message.System).text, "You play the role Buyer in a session of the protocol Haggle")
      assert.strictEqual(lastUser(first!), "Your move (state 0): Seller!request({ item: string }).")
      // the receive step is in the conversation, then the choice is the model's
      assert.deepStrictEqual(
        second!
          .filter((m) => m._tag === "User")
          .map((m) => (m as Message.User).text)
          .slice(-2),
        ['Seller sent you "quote": 30', "Your move (state 2): Seller!accept({ price: number }) or Seller!reject()."]
      )
      // the schema sent is the union of the legal moves
      const schema = JSON.stringify(requests[1]!.output?.jsonSchema)
      assert.include(schema, '"enum":["accept"]')
      assert.include(schema, '"enum":["reject"]')
      // wrong label, wrong recipient, bad payload: each is explained to the model
      assert.include(
        lastUser(third!),
        'at move.label: "buy" is not allowed now; the labels allowed are "accept", "reject"'
      )
      assert.include(lastUser(third!), "Your move is out of protocol: now you may send Seller!accept")
      assert.include(lastUser(fourth!), "at move.to: you can only send to Seller now, not to Bank")
      assert.include(lastUser(fifth!), "at move.payload.price: Expected")
      assert.deepStrictEqual(
        played.transcript.map((m) => m._tag),
        [
          "User",
          "User",
          "Assistant",
          "User",
          "User",
          "Assistant",
          "User",
          "Assistant",
          "User",
          "Assistant",
          "User",
          "Assistant"
        ]
      )
    }).pipe(
      Effect.provide(
        ScriptedModel.layer([
          move("Seller", "request", { item: "lamp" }),
          move("Seller", "buy", { price: 30 }),
          move("Bank", "accept", { price: 30 }),
          move("Seller", "accept", { price: "thirty" }),
          move("Seller", "accept", { price: 30 })
        ])
      )
    )
  )

  it.effect("chooses a branch without payload, after calling a tool", () =>
    Effect.gen(function* () {
      const appraise = Tool.make("appraise", {
        description: "What an item is worth",
        parameters: Schema.Struct({ item: Schema.String }),
        success: Schema.Finite,
        handler: () => Effect.succeed(20)
      })
      const { sold, played } = yield* haggle(
        LlmRole.play({ prompt: "Buy a lamp if it is cheap.", tools: [appraise] }),
        90
      )
      assert.strictEqual(sold, "no sale of lamp")
      assert.strictEqual(played.corrections, 0)
      assert.deepInclude(
        played.transcript.find((m) => m._tag === "ToolResult"),
        { name: "appraise", output: "20" }
      )
    }).pipe(
      Effect.provide(
        ScriptedModel.layer([
          move("Seller", "request", { item: "lamp" }),
          Turn.toolCall("appraise", { item: "lamp" }),
          move("Seller", "reject", null)
        ])
      )
    )
  )

  it.effect("a move never corrected fails the step with InvalidMove, and the supervisor sees it", () =>
    Effect.gen(function* () {
      const net = yield* network(Haggle.roles)
      // The role runs in an actor, as a session runtime would run it.
      const Player = Protocol.make("Player", { Play: {} })
      const player = Behavior.make<typeof Player, null, LanguageModel.LanguageModel>(Player, {
        initial: null,
        receive: {
          Play: (state) =>
            Effect.as(
              LlmRole.play({ prompt: "Buy a lamp." })(
                Endpoint.make(Haggle, "Buyer", { session: "s-2", port: net.port("Buyer") })
              ),
              state
            )
        }
      })
      const system = yield* ActorSystem.ActorSystem
      const events = yield* system.subscribe
      const ref = yield* ActorSystem.spawn(player, { name: "buyer" })
      yield* ref.tell(Player.Play())
      const failed = yield* events.pipe(
        Stream.filter((e): e is SystemEvent.Failed => e._tag === "Failed"),
        Stream.runHead
      )
      const error = failed.pipe((o) => (o._tag === "Some" ? Cause.squash(o.value.cause) : undefined))
      assert.instanceOf(error, LlmRole.InvalidMove)
      const invalid = error as LlmRole.InvalidMove
      assert.deepInclude(invalid, {
        protocol: "Haggle",
        session: "s-2",
        role: "Buyer",
        state: 0,
        attempts: 3,
        expected: ["Seller!request({ item: string })"],
        raw: '{"move":{"to":"Seller","label":"hello","payload":{}}}'
      })
      assert.match(invalid.message, /made no legal move in 3 attempts/)
      assert.strictEqual((yield* ScriptedModel.requests).length, 3)
      // nothing left, nothing reported to the session
      assert.deepStrictEqual([net.sent(), net.violations], [[], []])
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          ActorSystem.layer(),
          ScriptedModel.layer(() => move("Seller", "hello", {}))
        )
      )
    )
  )

  it.effect("output that is not JSON is fed back too", () =>
    Effect.gen(function* () {
      const { sold } = yield* haggle(LlmRole.play({ maxCorrections: 1 }), 10)
      assert.strictEqual(sold, "sold lamp for 10")
      const requests = yield* ScriptedModel.requests
      assert.include(lastUser(requests[1]!.messages), "Your move is not valid JSON")
    }).pipe(
      Effect.provide(
        ScriptedModel.layer([
          Turn.text("I would like the lamp"),
          move("Seller", "request", { item: "lamp" }),
          move("Seller", "accept", { price: 10 })
        ])
      )
    )
  )
})
