import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Behavior, Protocol, Supervisor } from "@troupe/runtime"
import { Effect, Schema, Stream } from "effect"

const Worker = Protocol.make("Worker", {
  Job: { input: Schema.String },
  Done: Protocol.request({}, { success: Schema.Number })
})

// A worker that crashes on bad input; its state (jobs done) starts again after a restart.
const worker = Behavior.make(Worker, {
  initial: 0,
  receive: {
    Job: (done, { input }) => (input === "bad" ? Effect.die(new Error("cannot parse")) : Effect.succeed(done + 1)),
    Done: (done) => Effect.succeed({ state: done, reply: done })
  }
})

// A supervisor restarts crashed children: here one-for-one, at most 3 restarts in 10 s, with backoff.
const team = Supervisor.make({
  strategy: Supervisor.oneForOne({
    maxRestarts: 3,
    within: "10 seconds",
    backoff: Supervisor.backoff({ min: "10 millis", max: "1 second" })
  }),
  children: [Supervisor.child("parser", worker)]
})

const program = Effect.gen(function* () {
  const system = yield* ActorSystem.ActorSystem
  yield* system.events.pipe(
    Stream.filter((event) => event._tag === "Restarted"),
    Stream.runForEach((event) => Effect.log(`restarted ${event.path}`)),
    Effect.forkScoped
  )
  yield* ActorSystem.spawn(team, { name: "team" })
  const parser = yield* ActorSystem.lookup("/user/team/parser", Worker)
  yield* parser.tell(Worker.Job({ input: "ok" }))
  yield* parser.tell(Worker.Job({ input: "bad" })) // crashes; restarted with fresh state
  yield* parser.tell(Worker.Job({ input: "ok" }))
  console.log("jobs since restart:", yield* parser.ask(Worker.Done()))
})

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(ActorSystem.layer())))
