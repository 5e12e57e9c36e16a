import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Choreography, Diagram, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"

// The protocol, written once: a planner hands a task to a coder; a reviewer judges the code.
const Review = Choreography.makeUnsafe("Review", ["Planner", "Coder", "Reviewer"], ($) => [
  $.message("Planner", "Coder", "task", Schema.String),
  $.message("Coder", "Reviewer", "code", Schema.String),
  $.choice("Reviewer", {
    approved: [$.message("Reviewer", "Planner", "approved", Schema.String)],
    rejected: [$.message("Reviewer", "Planner", "rejected", Schema.String)]
  })
])

// Each role is an actor; its endpoint only has the moves its local type allows next.
const planner = Session.role(Review, "Planner", (ep) =>
  Effect.gen(function* () {
    const verdict = yield* (yield* ep.send("Coder", "task", "parse the CSV")).receive()
    return `${verdict.label}: ${verdict.payload}` // ep.receive() would not compile: the planner sends first
  })
)
const coder = Session.role(Review, "Coder", (ep) =>
  Effect.flatMap(ep.receive(), (task) => task.next.send("Reviewer", "code", `csv.parse() // ${task.payload}`))
)
const reviewer = Session.role(Review, "Reviewer", (ep) =>
  Effect.flatMap(ep.receive(), ({ next, payload }) =>
    payload.includes("parse") ? next.send("Planner", "approved", payload) : next.send("Planner", "rejected", "no")
  )
)

const program = Effect.gen(function* () {
  const spawn = ActorSystem.spawn
  const [Planner, Coder, Reviewer] = yield* Effect.all([spawn(planner), spawn(coder), spawn(reviewer)])
  const done = yield* Session.run(Review, { roles: { Planner, Coder, Reviewer }, stepTimeout: "1 minute" })
  console.log(done.results.Planner) // typed: string
  console.log(Diagram.trace(done.trace))
})

NodeRuntime.runMain(program.pipe(Effect.provide(ActorSystem.layer())))
