import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Choreography, Cluster, Session, Sharded, ShardedSession } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"

const Refund = Choreography.makeUnsafe("Refund", ["Customer", "Desk"], ($) => [
  $.message("Customer", "Desk", "claim", Schema.Number),
  $.message("Desk", "Customer", "decision", Schema.String)
])

// each role is a sharded type: one actor per customer and one per desk, wherever the cluster places them
const Customers = Sharded.make("Customer", {
  behavior: (id) =>
    Session.role(Refund, "Customer", (ep) =>
      Effect.gen(function* () {
        const decision = yield* (yield* ep.send("Desk", "claim", 30)).receive()
        return `${id}: ${decision.payload}`
      })
    )
})
const Desks = Sharded.make("Desk", {
  behavior: () =>
    Session.role(Refund, "Desk", (ep, ctx) =>
      Effect.gen(function* () {
        const claim = yield* ep.receive()
        // in the session's log: a desk resumed on another runner does not refund twice
        const refunded = yield* ctx.once(Effect.succeed(claim.payload <= 50))
        yield* claim.next.send("Customer", "decision", refunded ? "refunded" : "refused")
      })
    )
})

const program = Effect.gen(function* () {
  const done = yield* ShardedSession.run(Refund, {
    roles: { Customer: yield* Sharded.ref(Customers, "ana"), Desk: yield* Sharded.ref(Desks, "desk-1") },
    deadline: "30 seconds" // a role unreachable for longer fails the session, typed
  })
  console.log(done.results.Customer)
})

// every runner hosts the roles' types and the sessions' coordinators
const runner = Layer.mergeAll(Sharded.layer(Customers), Sharded.layer(Desks), ShardedSession.layer([Refund])).pipe(
  Layer.provideMerge(ActorSystem.layer()),
  Layer.provideMerge(Cluster.layerSqlite({ filename: ":memory:" }))
)

NodeRuntime.runMain(program.pipe(Effect.provide(runner)))
