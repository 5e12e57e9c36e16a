import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Behavior, Cluster, Protocol, Sharded } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"

const Ticket = Protocol.make("Ticket", {
  Note: { text: Schema.String },
  Notes: Protocol.request({}, { success: Schema.Array(Schema.String) })
})

// one agent per ticket, addressed by the ticket's id wherever the cluster placed it; its notes are stored
const Tickets = Sharded.make("Ticket", {
  behavior: (_id) =>
    Behavior.make(Ticket, {
      initial: [] as ReadonlyArray<string>,
      receive: {
        Note: (notes, { text }) => Effect.succeed([...notes, text]),
        Notes: (notes) => Effect.succeed({ state: notes, reply: notes })
      }
    }),
  state: Schema.Array(Schema.String)
})

const program = Effect.gen(function* () {
  const ticket = yield* Sharded.ref(Tickets, "T-42")
  yield* ticket.tell(Ticket.Note({ text: "printer on fire" }))
  console.log(yield* ticket.ask(Ticket.Notes(), { timeout: "5 seconds" }))
})

// one runner on a SQLite file; Cluster.layerPostgres({ url, host, port }) in each process for several runners
const runner = Sharded.layer(Tickets).pipe(
  Layer.provideMerge(ActorSystem.layer()),
  Layer.provideMerge(Cluster.layerSqlite({ filename: ":memory:" }))
)

NodeRuntime.runMain(program.pipe(Effect.provide(runner)))
