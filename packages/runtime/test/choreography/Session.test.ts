/**
 * Sessions among real actors: Two-Buyer end to end, violations at the sender and at the receiver,
 * session events, spans and the recorded trace.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Stream, Tracer } from "effect"
import {
  ActorSystem,
  Diagram,
  type Endpoint,
  Monitor,
  Session,
  type SessionEvent,
  type SystemEvent
} from "../../src/index.ts"
import { TwoBuyer, uncheckedPeer } from "./fixtures.ts"

const seller = (price: number) =>
  Session.role(TwoBuyer, "S", (ep) =>
    Effect.gen(function* () {
      const title = yield* ep.receive()
      const quoted = yield* (yield* title.next.send("A", "quote", price)).send("B", "quote", price)
      const decision = yield* quoted.receive()
      yield* decision.next.close()
      return decision.label === "buy" ? `sold ${decision.payload}` : "no sale"
    })
  )

const buyerA = (title: string) =>
  Session.role(TwoBuyer, "A", (ep) =>
    Effect.gen(function* () {
      const quote = yield* (yield* ep.send("S", "title", title)).receive()
      const answer = yield* (yield* quote.next.send("B", "split", quote.payload / 2)).receive()
      if (answer.label === "accept") yield* (yield* answer.next.send("S", "buy", title)).close()
      else yield* (yield* answer.next.send("S", "cancel")).close()
      return answer.label
    })
  )

/** Buyer B; `seen` collects the labels it received, `interrupted` completes if its program is interrupted. */
const buyerB = (budget: number, seen: Array<string> = [], interrupted?: Deferred.Deferred<void>) =>
  Session.role(TwoBuyer, "B", (ep) =>
    Effect.gen(function* () {
      const quote = yield* ep.receive()
      seen.push(quote.label)
      const split = yield* quote.next.receive()
      seen.push(split.label)
      const answered =
        split.payload <= budget ? yield* split.next.send("A", "accept") : yield* split.next.send("A", "reject")
      yield* answered.close()
      return split.payload
    }).pipe(
      Effect.onInterrupt(() => (interrupted === undefined ? Effect.void : Deferred.succeed(interrupted, undefined)))
    )
  )

/** The session events published while `effect` runs. */
const sessionEvents = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const system = yield* ActorSystem.ActorSystem
    const events: Array<SessionEvent.SessionEvent> = []
    const stream = yield* system.subscribe
    const fiber = yield* Stream.runForEach(stream, (e: SystemEvent.SystemEvent) =>
      Effect.sync(() => {
        if (e._tag.startsWith("Session")) events.push(e as SessionEvent.SessionEvent)
      })
    ).pipe(Effect.forkScoped)
    const exit = yield* Effect.exit(effect)
    yield* Effect.yieldNow
    yield* Fiber.interrupt(fiber)
    return { exit, events }
  }).pipe(Effect.scoped)

const withSystem = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, ActorSystem.layer())

describe("Session", () => {
  it.effect("runs Two-Buyer end to end with real actors", () =>
    withSystem(
      Effect.gen(function* () {
        const S = yield* ActorSystem.spawn(seller(30), { name: "seller" })
        const A = yield* ActorSystem.spawn(buyerA("Dune"))
        const B = yield* ActorSystem.spawn(buyerB(20))
        const done = yield* Session.run(TwoBuyer, { roles: { A, B, S }, id: "tb-1" })
        assert.deepStrictEqual(done.results, { A: "accept", B: 15, S: "sold Dune" })
        assert.strictEqual(done.session, "tb-1")
        assert.strictEqual(done.protocol, "TwoBuyer")
        // the same actors play another session, taking B's reject path
        const again = yield* Session.run(TwoBuyer, { roles: { A, B, S: yield* ActorSystem.spawn(seller(100)) } })
        assert.deepStrictEqual(again.results, { A: "reject", B: 50, S: "no sale" })
        assert.notStrictEqual(again.session, "tb-1")
      })
    )
  )

  it.effect("one participant plays its role in several sessions at once", () =>
    withSystem(
      Effect.gen(function* () {
        const S = yield* ActorSystem.spawn(seller(30))
        const runs = ["Dune", "Emma", "Ulysses"].map((title) =>
          Effect.gen(function* () {
            const A = yield* ActorSystem.spawn(buyerA(title))
            const B = yield* ActorSystem.spawn(buyerB(20))
            return (yield* Session.run(TwoBuyer, { roles: { A, B, S } })).results.S
          })
        )
        const sold = yield* Effect.all(runs, { concurrency: "unbounded" })
        assert.deepStrictEqual(sold, ["sold Dune", "sold Emma", "sold Ulysses"])
      })
    )
  )

  it.effect("role actors stopped right after their session leave no dead letters", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const deadLetters: Array<string> = []
        const caughtUp = yield* Deferred.make<void>()
        const stream = yield* system.subscribe
        const listener = yield* Stream.runForEach(stream, (e: SystemEvent.SystemEvent) =>
          e._tag === "DeadLetter"
            ? Effect.sync(() => deadLetters.push(`${e.tag} to ${e.recipient}`))
            : e._tag === "Stopped" && e.path === "/user/last"
              ? Deferred.succeed(caughtUp, undefined)
              : Effect.void
        ).pipe(Effect.forkScoped)
        for (let i = 0; i < 5; i++) {
          const S = yield* ActorSystem.spawn(seller(30))
          const A = yield* ActorSystem.spawn(buyerA("Dune"))
          const B = yield* ActorSystem.spawn(buyerB(20))
          yield* Session.run(TwoBuyer, { roles: { A, B, S } })
          yield* Effect.forEach([A, B, S], (ref) => ActorSystem.stop(ref), { discard: true })
        }
        // once the listener sees this actor stop, it has seen every event before it (events arrive in order)
        yield* ActorSystem.stop(yield* ActorSystem.spawn(seller(30), { name: "last" }))
        yield* Deferred.await(caughtUp)
        yield* Fiber.interrupt(listener)
        assert.deepStrictEqual(deadLetters, [])
      }).pipe(Effect.scoped)
    )
  )

  it.effect("records a trace that draws as a sequence diagram", () =>
    withSystem(
      Effect.gen(function* () {
        const S = yield* ActorSystem.spawn(seller(30))
        const A = yield* ActorSystem.spawn(buyerA("Dune"))
        const B = yield* ActorSystem.spawn(buyerB(10))
        const done = yield* Session.run(TwoBuyer, { roles: { A, B, S } })
        assert.deepStrictEqual(
          done.trace.filter((e) => e._tag === "Sent").map((e) => `${e.from}->${e.to}:${e.label}`),
          ["A->S:title", "S->A:quote", "S->B:quote", "A->B:split", "B->A:reject", "A->S:cancel"]
        )
        assert.strictEqual(done.trace.filter((e) => e._tag === "Received").length, 6)
        assert.strictEqual(
          Diagram.trace(done.trace, { roles: TwoBuyer.roles }),
          [
            "sequenceDiagram",
            "  participant A",
            "  participant B",
            "  participant S",
            '  A->>S: title("Dune")',
            "  S->>A: quote(30)",
            "  S->>B: quote(30)",
            "  A->>B: split(15)",
            "  B->>A: reject()",
            "  A->>S: cancel()"
          ].join("\n")
        )
      })
    )
  )

  it.effect("refuses an illegal send at the sender: nothing leaves, and the session is aborted for all", () =>
    withSystem(
      Effect.gen(function* () {
        const seen: Array<string> = []
        const interrupted = yield* Deferred.make<void>()
        let refused: unknown
        // A seller whose moves are chosen at run time: it quotes B before it heard from A.
        const S = yield* ActorSystem.spawn(
          Session.role(TwoBuyer, "S", (ep) => {
            const untyped = ep as unknown as Endpoint.UntypedEndpoint<Session.Failure>
            return untyped.send("B", "quote", 30).pipe(Effect.tapError((e) => Effect.sync(() => (refused = e))))
          })
        )
        const A = yield* ActorSystem.spawn(
          Session.role(TwoBuyer, "A", (ep) => Effect.andThen(ep.send("S", "title", "Dune"), Effect.never))
        )
        const B = yield* ActorSystem.spawn(buyerB(20, seen, interrupted))
        const { exit, events } = yield* sessionEvents(Session.run(TwoBuyer, { roles: { A, B, S }, id: "illegal" }))
        assert.isTrue(Exit.isFailure(exit))
        const aborted = yield* Effect.flip(exit)
        assert.strictEqual(aborted._tag, "SessionAborted")
        if (aborted._tag !== "SessionAborted") return
        assert.instanceOf(aborted.cause, Monitor.ProtocolViolation)
        assert.deepInclude(aborted.cause, {
          session: "illegal",
          role: "S",
          state: 0,
          got: "B!quote",
          reason: "direction"
        })
        assert.deepStrictEqual(refused, aborted.cause)
        // nothing left S: B never received a quote, and its program was interrupted
        assert.deepStrictEqual(seen, [])
        yield* Deferred.await(interrupted)
        assert.isFalse(aborted.trace.some((e) => e._tag === "Sent" && e.from === "S"))
        assert.match(
          aborted.message,
          /Session illegal of TwoBuyer was aborted: Protocol violation .* role S in state 0/
        )
        const violation = events.find((e) => e._tag === "SessionViolation")
        assert.deepInclude(violation, { session: "illegal", role: "S" })
        assert.deepInclude(events.at(-1), { _tag: "SessionEnded", session: "illegal", outcome: "aborted" })
      })
    )
  )

  it.effect("rejects a hostile peer's message at the receiver and aborts the session for every participant", () =>
    withSystem(
      Effect.gen(function* () {
        const interrupted = yield* Deferred.make<void>()
        // A does not check anything: it sends `buy` before `title`.
        const hostile = uncheckedPeer(TwoBuyer, "A", (send) => send("S", "buy", "Dune"))
        const A = yield* ActorSystem.spawn(hostile.behavior)
        const B = yield* ActorSystem.spawn(buyerB(20, [], interrupted))
        const S = yield* ActorSystem.spawn(seller(30))
        const aborted = yield* Effect.flip(Session.run(TwoBuyer, { roles: { A, B, S }, id: "hostile" }))
        assert.strictEqual(aborted._tag, "SessionAborted")
        if (aborted._tag !== "SessionAborted") return
        assert.instanceOf(aborted.cause, Monitor.ProtocolViolation)
        assert.deepInclude(aborted.cause, { role: "S", state: 0, got: "A?buy", reason: "label" })
        assert.deepStrictEqual(aborted.cause.expected, ["A?title(string)"])
        // every other participant was told, with the same cause
        yield* Deferred.await(interrupted)
        assert.deepStrictEqual(hostile.aborts, [aborted.cause])
        // the trace shows the unchecked message (dotted), the violation and the abort
        const diagram = Diagram.trace(aborted.trace, { roles: TwoBuyer.roles })
        assert.include(diagram, '  A-->>S: buy("Dune")')
        assert.include(diagram, "  Note over S: violation: expected A?title(string), got A?buy")
        assert.include(diagram, "  Note over A,S: aborted by S: Protocol violation in session hostile")
      })
    )
  )

  it.effect("refuses at once a message the receiver can never receive, even while it waits for another peer", () =>
    withSystem(
      Effect.gen(function* () {
        // B waits for S's quote; A sends it `buy`, which B never receives from anyone.
        const hostile = uncheckedPeer(TwoBuyer, "A", (send) =>
          Effect.andThen(send("B", "buy", "Dune"), send("S", "title", "Dune"))
        )
        const A = yield* ActorSystem.spawn(hostile.behavior)
        const B = yield* ActorSystem.spawn(buyerB(20))
        const S = yield* ActorSystem.spawn(
          Session.role(TwoBuyer, "S", (ep) => Effect.andThen(ep.receive(), Effect.never))
        )
        const aborted = yield* Effect.flip(Session.run(TwoBuyer, { roles: { A, B, S } }))
        assert.strictEqual(aborted._tag, "SessionAborted")
        if (aborted._tag !== "SessionAborted") return
        assert.deepInclude(aborted.cause, {
          _tag: "ProtocolViolation",
          role: "B",
          state: 0,
          got: "A?buy",
          reason: "peer"
        })
      })
    )
  )

  it.effect("drops a message sent again with the same number, and refuses one whose predecessor is missing", () =>
    withSystem(
      Effect.gen(function* () {
        const S = yield* ActorSystem.spawn(seller(30))
        const hostile = uncheckedPeer(TwoBuyer, "A", (send) =>
          Effect.gen(function* () {
            yield* send("S", "title", "Dune", 1)
            yield* send("S", "title", "Dune again", 1) // a duplicate: dropped
            yield* send("S", "buy", "Dune", 3) // message 2 is missing
          })
        )
        const A = yield* ActorSystem.spawn(hostile.behavior)
        const B = yield* ActorSystem.spawn(buyerB(20))
        const aborted = yield* Effect.flip(Session.run(TwoBuyer, { roles: { A, B, S } }))
        assert.strictEqual(aborted._tag, "SessionAborted")
        if (aborted._tag !== "SessionAborted") return
        // (had the duplicate title reached the seller, it would have been refused for its label instead)
        assert.deepInclude(aborted.cause, { _tag: "ProtocolViolation", role: "S", got: "A?buy", reason: "sequence" })
        assert.include(aborted.cause.message, "message 3 from A, expected 2")
      })
    )
  )

  it.effect("publishes session events: started, steps, ended", () =>
    withSystem(
      Effect.gen(function* () {
        const S = yield* ActorSystem.spawn(seller(30), { name: "S" })
        const A = yield* ActorSystem.spawn(buyerA("Dune"), { name: "A" })
        const B = yield* ActorSystem.spawn(buyerB(20), { name: "B" })
        const { exit, events } = yield* sessionEvents(Session.run(TwoBuyer, { roles: { A, B, S }, id: "ev" }))
        assert.isTrue(Exit.isSuccess(exit))
        assert.deepInclude(events[0], {
          _tag: "SessionStarted",
          session: "ev",
          protocol: "TwoBuyer",
          roles: { A: "/user/A", B: "/user/B", S: "/user/S" }
        })
        const steps = events.filter((e) => e._tag === "SessionStep")
        assert.strictEqual(steps.length, 12)
        assert.deepInclude(
          steps.find((e) => e.role === "S" && e.direction === "receive"),
          { session: "ev", peer: "A", label: "title", state: 1 }
        )
        assert.deepInclude(events.at(-1), {
          _tag: "SessionEnded",
          session: "ev",
          outcome: "completed",
          cause: undefined
        })
      })
    )
  )

  it.effect("runs each role's program in a span, with its steps as span events", () => {
    const spans: Array<{ name: string; attributes: Map<string, unknown>; events: Array<string> }> = []
    const tracer = Tracer.make({
      span(options) {
        const span = Tracer.nativeTracer.span(options)
        const recorded = { name: options.name, attributes: new Map<string, unknown>(), events: [] as Array<string> }
        spans.push(recorded)
        const attribute = span.attribute.bind(span)
        span.attribute = (key, value) => {
          recorded.attributes.set(key, value)
          attribute(key, value)
        }
        span.event = (name) => {
          recorded.events.push(name)
        }
        return span
      }
    })
    return Effect.gen(function* () {
      const S = yield* ActorSystem.spawn(seller(30))
      const A = yield* ActorSystem.spawn(buyerA("Dune"))
      const B = yield* ActorSystem.spawn(buyerB(20))
      yield* Session.run(TwoBuyer, { roles: { A, B, S }, id: "traced" })
      const span = spans.find((s) => s.name === "session TwoBuyer/S")
      assert.isDefined(span)
      assert.strictEqual(span?.attributes.get("session.id"), "traced")
      assert.strictEqual(span?.attributes.get("session.role"), "S")
      assert.deepStrictEqual(span?.events, ["receive A title", "send A quote", "send B quote", "receive A buy"])
    }).pipe(Effect.provide(ActorSystem.layer()), Effect.provide(Layer.succeed(Tracer.Tracer, tracer)))
  })
})
