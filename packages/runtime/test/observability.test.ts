import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior } from "@troupe/runtime"
import { Effect, Layer, Metric, Option, Tracer } from "effect"
import { Counter, counter } from "./fixtures.ts"

interface Recorded {
  readonly name: string
  readonly traceId: string
  readonly parent: string | undefined
  readonly attributes: Map<string, unknown>
}

/** A tracer that records every span, on top of Effect's own. */
const recording = () => {
  const spans: Array<Recorded> = []
  const tracer = Tracer.make({
    span(options) {
      const span = Tracer.nativeTracer.span(options)
      const attributes = new Map<string, unknown>()
      const attribute = span.attribute.bind(span)
      span.attribute = (key, value) => {
        attributes.set(key, value)
        attribute(key, value)
      }
      spans.push({
        name: options.name,
        traceId: span.traceId,
        parent: Option.getOrUndefined(Option.map(options.parent, (p) => p.spanId)),
        attributes
      })
      return span
    }
  })
  return { spans, layer: Layer.succeed(Tracer.Tracer, tracer) }
}

describe("observability", () => {
  it.effect("with a tracer installed, each handled message runs in a span named after the actor and tag", () => {
    const { spans, layer } = recording()
    return Effect.gen(function* () {
      const relay = Behavior.make(Counter, {
        initial: 0,
        receive: {
          Add: (n, msg, ctx) =>
            Effect.gen(function* () {
              const target = yield* ctx.system.lookup("/user/target", Counter)
              yield* target.tell(msg)
              return n
            }),
          Get: (n) => Effect.succeed({ state: n, reply: n }),
          Fail: (n) => Effect.succeed(n)
        }
      })
      const target = yield* ActorSystem.spawn(counter(), { name: "target" })
      const ref = yield* ActorSystem.spawn(relay, { name: "relay" })
      yield* ref.tell(Counter.Add({ n: 1 })).pipe(Effect.withSpan("request"))
      yield* ref.ask(Counter.Get())
      yield* target.ask(Counter.Get())
      assert.includeMembers(
        spans.map((s) => s.name),
        ["request", "relay.Add", "target.Add"]
      )
      const request = spans.find((s) => s.name === "request")!
      const relayed = spans.find((s) => s.name === "relay.Add")!
      const handled = spans.find((s) => s.name === "target.Add")!
      assert.strictEqual(relayed.attributes.get("actor.path"), "/user/relay")
      assert.strictEqual(relayed.attributes.get("message.tag"), "Add")
      // one trace through both actors
      assert.strictEqual(relayed.traceId, request.traceId)
      assert.strictEqual(handled.traceId, request.traceId)
      assert.isDefined(handled.parent)
    }).pipe(Effect.provide(ActorSystem.layer()), Effect.provide(layer))
  })

  it.effect("without a tracer, handlers run without spans", () => {
    let spans = 0
    const counting = Tracer.make({
      span(options) {
        spans++
        return Tracer.nativeTracer.span(options)
      }
    })
    return Effect.gen(function* () {
      const ref = yield* ActorSystem.spawn(counter())
      yield* ref.tell(Counter.Add({ n: 1 }))
      yield* ref.ask(Counter.Get())
      assert.strictEqual(spans, 0)
    }).pipe(
      Effect.provide(ActorSystem.layer({ tracing: false })),
      Effect.provide(Layer.succeed(Tracer.Tracer, counting))
    )
  })

  it.effect("counts messages, failures and restarts in metrics", () =>
    Effect.gen(function* () {
      const value = (name: string) =>
        Effect.map(Metric.snapshot, (all) => {
          const found = all.find((m) => m.id === name)
          return found === undefined ? 0 : Number((found.state as { count: number }).count)
        })
      const before = {
        messages: yield* value("troupe_actor_messages_total"),
        failures: yield* value("troupe_actor_failures_total"),
        restarts: yield* value("troupe_actor_restarts_total"),
        depths: yield* value("troupe_mailbox_depth")
      }
      yield* Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(counter())
        yield* ref.tell(Counter.Add({ n: 1 }))
        yield* ref.tell(Counter.Fail({ reason: "x" }))
        yield* ref.ask(Counter.Get())
      }).pipe(Effect.provide(ActorSystem.layer()))
      assert.strictEqual((yield* value("troupe_actor_messages_total")) - before.messages, 3)
      assert.strictEqual((yield* value("troupe_actor_failures_total")) - before.failures, 1)
      assert.strictEqual((yield* value("troupe_actor_restarts_total")) - before.restarts, 1)
      // the mailbox depth is sampled each time the actor starts handling messages
      assert.isAtLeast((yield* value("troupe_mailbox_depth")) - before.depths, 1)
      const depth = (yield* Metric.snapshot).find((m) => m.id === "troupe_mailbox_depth")!
        .state as Metric.HistogramState
      assert.deepStrictEqual(
        depth.buckets.map(([boundary]) => boundary),
        [1, 2, 4, 8, 16, 64, 256, 1024, 4096, 16384]
      )
      assert.isAtLeast(depth.buckets[0]![1], 1) // an idle actor told one message is woken with one in its mailbox
      assert.strictEqual(depth.buckets.at(-1)![1], depth.count)
    })
  )
})
