/**
 * A supervision tree: a supervisor restarts its crashing child with growing backoff, leaves the child's
 * sibling alone (one-for-one), and gives up when its restart budget is spent. What happens is read from the
 * system's event stream.
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples supervision`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Behavior, Protocol, Supervisor, type SystemEvent } from "@troupe/runtime"
import { Cause, Console, Effect, Layer, Queue, References, Schema, Stream } from "effect"

// A parser that crashes on bad input. Its state (how many jobs it did) starts again after a restart.
const Parser = Protocol.make("Parser", {
  Parse: { input: Schema.String },
  Done: Protocol.request({}, { success: Schema.Number })
})
const parser = Behavior.make(Parser, {
  initial: 0,
  receive: {
    Parse: (done, { input }) =>
      input === "bad" ? Effect.die(new Error(`cannot parse "${input}"`)) : Effect.succeed(done + 1),
    Done: (done) => Effect.succeed({ state: done, reply: done })
  }
})

// Its sibling keeps items; it never crashes.
const Store = Protocol.make("Store", {
  Put: { item: Schema.String },
  Size: Protocol.request({}, { success: Schema.Number })
})
const store = Behavior.make(Store, {
  initial: [] as ReadonlyArray<string>,
  receive: {
    Put: (items, { item }) => Effect.succeed([...items, item]),
    Size: (items) => Effect.succeed({ state: items, reply: items.length })
  }
})

// The tree: restart only the child that failed, at most 3 times a minute; the first restart at once, then
// after 100 ms, 200 ms, ... (no jitter here, to make the output predictable).
const backoff = Supervisor.backoff({ min: "100 millis", max: "2 seconds", jitter: 0 })
const team = Supervisor.make({
  strategy: Supervisor.oneForOne({ maxRestarts: 3, within: "1 minute", backoff }),
  children: [Supervisor.child("store", store), Supervisor.child("parser", parser)]
})

/** One line per event worth showing; `since` is when the last crash happened. */
const describe = (event: SystemEvent.SystemEvent, since: number): string | undefined => {
  switch (event._tag) {
    case "Failed": {
      const error = Cause.squash(event.cause)
      return `  ${event.path} crashed: ${(error instanceof Error ? error.message : String(error)).split("\n")[0]}`
    }
    case "Restarted":
      return `  ${event.path} restarted: restart ${event.restarts}, backoff ${Supervisor.delayMillis(backoff, event.restarts - 1, 0)} ms (took ${Date.now() - since} ms)`
    case "Escalated":
      return `  ${event.path} escalated the failure of ${event.child} to its own supervisor`
    case "Stopped":
      return `  ${event.path} stopped`
    default:
      return undefined
  }
}

const program = Effect.gen(function* () {
  const system = yield* ActorSystem.ActorSystem
  const events = yield* Queue.unbounded<SystemEvent.SystemEvent, Cause.Done>()
  yield* Effect.forkScoped(Stream.runIntoQueue(yield* system.subscribe, events))
  let crashedAt = 0
  /** Prints events until one matches. */
  const until = (done: (event: SystemEvent.SystemEvent) => boolean) =>
    Effect.gen(function* () {
      for (;;) {
        const event = yield* Queue.take(events)
        if (event._tag === "Failed") crashedAt = Date.now()
        const line = describe(event, crashedAt)
        if (line !== undefined) yield* Console.log(line)
        if (done(event)) return
      }
    })

  yield* ActorSystem.spawn(team, { name: "team" })
  const parserRef = yield* ActorSystem.lookup("/user/team/parser", Parser)
  const storeRef = yield* ActorSystem.lookup("/user/team/store", Store)
  for (const item of ["a", "b", "c"]) yield* storeRef.tell(Store.Put({ item }))
  yield* parserRef.tell(Parser.Parse({ input: "ok" }))
  console.log(`parser has done ${yield* parserRef.ask(Parser.Done())} job`)

  console.log("three bad inputs, three restarts, each after a longer backoff:")
  for (let n = 1; n <= 3; n++) {
    yield* parserRef.tell(Parser.Parse({ input: "bad" }))
    yield* until((e) => e._tag === "Restarted" && e.restarts === n)
  }
  console.log(`parser has done ${yield* parserRef.ask(Parser.Done())} jobs (its state started again)`)
  console.log(`store still holds ${yield* storeRef.ask(Store.Size())} items (one-for-one: its sibling was left alone)`)

  console.log("a fourth bad input within the minute spends the budget of 3 restarts:")
  yield* parserRef.tell(Parser.Parse({ input: "bad" }))
  yield* until((e) => e._tag === "Restarted" && e.path === "/user/team")
  const restarted = yield* ActorSystem.lookup("/user/team/store", Store)
  console.log(
    `its supervisor (the root guardian) restarted the whole team: the store now holds ${yield* restarted.ask(Store.Size())} items`
  )
})

// The runtime also logs every failure and restart (with stack traces); this example prints the events instead.
const quiet = Layer.succeed(References.MinimumLogLevel, "None")

NodeRuntime.runMain(
  program.pipe(Effect.scoped, Effect.provide(ActorSystem.layer({ name: "supervision" })), Effect.provide(quiet))
)
