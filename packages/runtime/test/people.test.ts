/**
 * People in a running system: a session role played by a person (offered exactly the legal moves, each answer
 * checked, deadlines applying), the desk's journal, and what an inspector reads (introspection, custom events).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import {
  ActorSystem,
  Behavior,
  Choreography,
  Desk,
  HumanRole,
  Introspection,
  Protocol,
  Session,
  Supervisor,
  type SystemEvent
} from "../src/index.ts"
import { buyerA, seller, TwoBuyer } from "./choreography/fixtures.ts"

const withSystem = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(Effect.scoped(effect), ActorSystem.layer({ name: "people" }))

/** The next question asked on the desk of `system`. */
const nextQuestion = (changes: Stream.Stream<Desk.Change>) =>
  changes.pipe(
    Stream.filter((c): c is Extract<Desk.Change, { _tag: "Asked" }> => c._tag === "Asked"),
    Stream.runHead,
    Effect.map((c) => Option.getOrThrow(c).question)
  )

describe("HumanRole", () => {
  it.effect("a person plays a role: offered exactly the legal moves, an illegal one refused, the move checked", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const desk = Desk.of(system)
        const changes = yield* desk.changes
        const asked = yield* Effect.forkChild(nextQuestion(changes))
        const A = yield* ActorSystem.spawn(buyerA)
        const B = yield* ActorSystem.spawn(Session.role(TwoBuyer, "B", HumanRole.play({ who: "Bea" })), { name: "bea" })
        const S = yield* ActorSystem.spawn(seller)
        const run = yield* Effect.forkChild(Session.run(TwoBuyer, { roles: { A, B, S }, id: "s-1" }))

        const question = yield* Fiber.join(asked)
        assert.deepInclude(question, {
          kind: "move",
          title: "B's move in session s-1 of TwoBuyer",
          path: "/user/bea",
          session: "s-1",
          protocol: "TwoBuyer",
          role: "B"
        })
        const detail = question.detail as {
          who: string
          received: ReadonlyArray<HumanRole.Move>
          moves: ReadonlyArray<HumanRole.Offer>
        }
        assert.strictEqual(detail.who, "Bea")
        assert.deepStrictEqual(
          detail.received.map((m) => `${m.from}:${m.label}(${JSON.stringify(m.payload)})`),
          ["S:quote(30)", "A:split(15)"]
        )
        // exactly the two legal moves, nothing else
        assert.deepStrictEqual(
          detail.moves.map((m) => m.move),
          ["A!accept()", "A!reject()"]
        )
        assert.deepStrictEqual(detail.moves[0]!.schema, { type: "null" })

        // an illegal move is refused and the question stays open
        const refused = yield* Effect.flip(desk.answer(question.id, { label: "buy", payload: "Dune" }, "Bea"))
        assert.strictEqual(refused._tag, "AnswerRefused")
        assert.include(refused.message, `"buy" is not a legal move now: accept, reject`)
        assert.deepStrictEqual(
          (yield* desk.pending).map((q) => q.id),
          [question.id]
        )

        yield* desk.answer(question.id, { label: "accept" }, "Bea")
        const done = yield* Fiber.join(run)
        assert.deepStrictEqual(done.results.S, "buy")
        assert.deepStrictEqual(
          (done.results.B as HumanRole.Result).sent.map((m) => `${m.to}:${m.label} by ${m.by}`),
          ["A:accept by Bea"]
        )
        assert.deepStrictEqual(yield* desk.pending, [])
        // answered once: a second answer finds no question
        const again = yield* Effect.flip(desk.answer(question.id, { label: "reject" }))
        assert.strictEqual(again._tag, "NoSuchQuestion")
      })
    )
  )

  const Offer = Choreography.makeUnsafe("Offer", ["Buyer", "Seller"], ($) => [
    $.message("Seller", "Buyer", "ask", Schema.String),
    $.message("Buyer", "Seller", "bid", Schema.Struct({ amount: Schema.Finite, note: Schema.String }))
  ])

  it.effect("a payload that does not decode is refused with what was wrong; the form's schema is offered", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const desk = Desk.of(system)
        const asked = yield* Effect.forkChild(nextQuestion(yield* desk.changes))
        const buyer = yield* ActorSystem.spawn(Session.role(Offer, "Buyer", HumanRole.play()))
        const sellerRef = yield* ActorSystem.spawn(
          Session.role(Offer, "Seller", (ep) =>
            Effect.gen(function* () {
              const bid = yield* (yield* ep.send("Buyer", "ask", "a lamp")).receive()
              return bid.payload
            })
          )
        )
        const run = yield* Effect.forkChild(Session.run(Offer, { roles: { Buyer: buyer, Seller: sellerRef } }))
        const question = yield* Fiber.join(asked)
        const [offer] = (question.detail as { moves: ReadonlyArray<HumanRole.Offer> }).moves
        assert.deepInclude(offer!.schema as object, { type: "object", required: ["amount", "note"] })
        const refused = yield* Effect.flip(
          desk.answer(question.id, { label: "bid", payload: { amount: "forty", note: "ok" } })
        )
        assert.strictEqual(refused._tag, "AnswerRefused")
        assert.include(refused.message, "amount")
        yield* desk.answer(question.id, { label: "bid", payload: { amount: 40, note: "cash" } })
        const done = yield* Fiber.join(run)
        assert.deepStrictEqual(done.results.Seller, { amount: 40, note: "cash" })
      })
    )
  )

  it.effect("a person who takes too long: the peers' step deadline aborts the session, the question is withdrawn", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const desk = Desk.of(system)
        const changes = yield* desk.changes
        const withdrawn = yield* Effect.forkChild(
          changes.pipe(
            Stream.filter((c) => c._tag === "Withdrawn"),
            Stream.runHead
          )
        )
        const A = yield* ActorSystem.spawn(buyerA)
        const B = yield* ActorSystem.spawn(Session.role(TwoBuyer, "B", HumanRole.play()))
        const S = yield* ActorSystem.spawn(seller)
        const run = yield* Effect.forkChild(
          Session.run(TwoBuyer, { roles: { A, B, S }, id: "slow", stepTimeouts: { A: "10 seconds" } })
        )
        while ((yield* desk.pending).length === 0) yield* Effect.yieldNow
        for (let i = 0; i < 30 && run.pollUnsafe() === undefined; i++) {
          yield* TestClock.adjust("1 second")
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
        }
        const aborted = yield* Effect.flip(Fiber.join(run))
        assert.strictEqual(aborted._tag, "SessionAborted")
        if (aborted._tag === "SessionAborted") assert.deepInclude(aborted.cause, { _tag: "StepTimeout", role: "A" })
        assert.isTrue(Option.isSome(yield* Fiber.join(withdrawn)))
        assert.deepStrictEqual(yield* desk.pending, [])
      })
    )
  )
})

describe("Desk", () => {
  it.effect("with a journal, a question asked again under the same key gets the recorded answer", () =>
    Effect.gen(function* () {
      const system = yield* ActorSystem.ActorSystem
      const desk = Desk.of(system)
      const ask = Desk.ask({
        kind: "confirm",
        title: "Ship it?",
        detail: null,
        key: "ship-v2",
        check: (answer) => (typeof answer === "boolean" ? Effect.succeed(answer) : Effect.fail("true or false"))
      })
      const first = yield* Effect.forkChild(ask)
      while ((yield* desk.pending).length === 0) yield* Effect.yieldNow
      const [question] = yield* desk.pending
      assert.strictEqual((yield* Effect.flip(desk.answer(question!.id, "yes")))._tag, "AnswerRefused")
      yield* desk.answer(question!.id, true, "alice")
      assert.deepStrictEqual(yield* Fiber.join(first), { value: true, by: "alice" })
      // asked again (a role resumed after a crash): answered from the journal, no question
      assert.deepStrictEqual(yield* ask, { value: true, by: "journal" })
      assert.deepStrictEqual(yield* desk.pending, [])
    }).pipe(Effect.provide(Layer.mergeAll(ActorSystem.layer(), Layer.succeed(Desk.Journal, Desk.memoryJournal()))))
  )
})

const Worker = Protocol.make("Worker", { Work: {}, Crash: {}, Hold: { until: Schema.Unknown } })

describe("Introspection", () => {
  it.effect("the actor tree with status, mailbox depth, restarts and last failure; stop; custom events", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const events: Array<SystemEvent.SystemEvent> = []
        yield* Stream.runForEach(yield* system.subscribe, (e) => Effect.sync(() => events.push(e))).pipe(
          Effect.forkScoped
        )
        const holding = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const worker = Behavior.make(Worker, {
          initial: 0,
          receive: {
            Work: (n) => Effect.as(ActorSystem.publish("test", { _tag: "Worked", n }), n + 1),
            Crash: () => Effect.die(new Error("boom\nsecond line")),
            Hold: (n) => Effect.as(Effect.andThen(Deferred.succeed(holding, undefined), Deferred.await(release)), n)
          }
        })
        const team = Supervisor.make({
          strategy: Supervisor.oneForOne({ maxRestarts: 3, within: "1 minute" }),
          children: [Supervisor.child("w", worker)]
        })
        yield* ActorSystem.spawn(team, { name: "team" })
        const w = yield* ActorSystem.lookup("/user/team/w", Worker)
        yield* w.tell(Worker.Work())
        yield* w.tell(Worker.Crash())
        while (!events.some((e) => e._tag === "Restarted")) yield* Effect.yieldNow
        yield* w.tell(Worker.Hold({ until: null }))
        yield* Deferred.await(holding)
        yield* w.tell(Worker.Work())
        yield* w.tell(Worker.Work())

        const actors = yield* Introspection.actors(system)
        assert.deepStrictEqual(
          actors.map((a) => `${a.parent} ${a.path}`),
          ["/user /user/team", "/user/team /user/team/w"]
        )
        const info = actors[1]!
        assert.deepInclude(info, { name: "w", protocol: "Worker", status: "running", mailbox: 2, restarts: 1 })
        assert.strictEqual(info.lastFailure?.message, "boom")
        assert.include(info.lastFailure?.cause, "second line")
        assert.strictEqual(actors[0]!.status, "idle")
        yield* Deferred.succeed(release, undefined)

        const custom: unknown = events.find((e) => e._tag === "Custom")
        assert.deepInclude(custom, { source: "test", path: "/user/team/w", event: { _tag: "Worked", n: 0 } })

        const node = yield* Introspection.node(system)
        assert.deepInclude(node, { node: "people", address: undefined, links: [] })
        assert.strictEqual(node.stats.actors, 2)

        assert.isTrue(yield* Introspection.stop(system, "/user/team/w"))
        assert.isFalse(yield* Introspection.stop(system, "/user/team/w"))
        assert.isFalse(yield* Introspection.stop(system, "/user"))
        assert.deepStrictEqual(
          (yield* Introspection.actors(system)).map((a) => a.path),
          ["/user/team"]
        )
      })
    )
  )

  it.effect("the roles a node's participants play, where each stands; a session cancelled by an operator", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const A = yield* ActorSystem.spawn(buyerA, { name: "a" })
        const B = yield* ActorSystem.spawn(Session.role(TwoBuyer, "B", HumanRole.play()), { name: "b" })
        const S = yield* ActorSystem.spawn(seller, { name: "s" })
        const run = yield* Effect.forkChild(Session.run(TwoBuyer, { roles: { A, B, S }, id: "op" }))
        while ((yield* Desk.of(system).pending).length === 0) yield* Effect.yieldNow
        const roles = yield* Introspection.roles(system)
        const byRole = Object.fromEntries(roles.map((r) => [r.role, r]))
        assert.deepInclude(byRole.S, { session: "op", path: "/user/s", waitingFor: "A", running: true })
        assert.deepStrictEqual(byRole.S!.expected, ["A?buy(string)", "A?cancel()"])
        assert.deepInclude(byRole.B, { waitingFor: undefined })
        assert.deepStrictEqual(byRole.B!.expected, ["A!accept()", "A!reject()"])

        assert.isTrue(yield* Introspection.cancelSession(system, "op", "stopped by an operator"))
        const aborted = yield* Effect.flip(Fiber.join(run))
        assert.include(aborted.message, "stopped by an operator")
        assert.isFalse(yield* Introspection.cancelSession(system, "nope", "-"))
        while ((yield* Introspection.roles(system)).length > 0) yield* Effect.yieldNow
        assert.deepStrictEqual(yield* Desk.of(system).pending, [])
      })
    )
  )
})
