import { ActorSystem, Choreography, Session } from "./packages/runtime/src/index.ts"
import { Effect, Schema, Exit, Cause } from "effect"
const Review = Choreography.makeUnsafe("Review", ["Author", "Reviewer"], ($) => [
  $.message("Author", "Reviewer", "draft", Schema.String),
  $.message("Reviewer", "Author", "verdict", Schema.String)
], { families: ["Reviewer"] })
const author = Session.role(Review, "Author", (ep) => Effect.gen(function* () { const r = yield* (yield* ep.send("Reviewer", "draft", "d")).receive(); return r.payload }))
const reviewer = Session.role(Review, "Reviewer", (ep) => Effect.flatMap(ep.receive(), (m) => m.next.send("Author", "verdict", "ok")))
const show = (name: string, e: Effect.Effect<unknown, unknown, ActorSystem.ActorSystem>) => Effect.gen(function* () {
  const exit = yield* Effect.exit(e.pipe(Effect.timeout("5 seconds")))
  console.log(`== ${name}: ${Exit.isSuccess(exit) ? `OK ${JSON.stringify(exit.value)}` : `${Cause.hasDies(exit.cause) ? "DEFECT" : "FAIL"} ${String(Cause.squash(exit.cause)).split("\n").slice(0, 3).join(" | ")}`}`)
})
const program = Effect.gen(function* () {
  const A = yield* ActorSystem.spawn(author)
  const r1 = yield* ActorSystem.spawn(reviewer)
  const r2 = yield* ActorSystem.spawn(reviewer)
  yield* show("empty family", Session.run(Review, { roles: { Author: A, Reviewer: [] } as any, stepTimeout: "2 seconds" }).pipe(Effect.map((d) => d.results)))
  yield* show("family as single ref", Session.run(Review, { roles: { Author: A, Reviewer: r1 } as any, stepTimeout: "2 seconds" }).pipe(Effect.map((d) => d.results)))
  yield* show("same actor twice", Session.run(Review, { roles: { Author: A, Reviewer: [r1, r1] }, stepTimeout: "2 seconds" }).pipe(Effect.map((d) => d.results)))
  yield* show("author also reviewer", Session.run(Review, { roles: { Author: A, Reviewer: [A as any, r2] }, stepTimeout: "2 seconds" }).pipe(Effect.map((d) => d.results)))
  yield* show("single role given a list", Session.run(Review, { roles: { Author: [A] as any, Reviewer: [r1, r2] }, stepTimeout: "2 seconds" }).pipe(Effect.map((d) => d.results)))
  yield* show("missing role", Session.run(Review, { roles: { Reviewer: [r1, r2] } as any, stepTimeout: "2 seconds" }).pipe(Effect.map((d) => d.results)))
  yield* show("unknown role", Session.run(Review, { roles: { Author: A, Reviewer: [r1], Extra: r2 } as any, stepTimeout: "2 seconds" }).pipe(Effect.map((d) => d.results)))
  yield* show("ok", Session.run(Review, { roles: { Author: A, Reviewer: [r1, r2] }, stepTimeout: "2 seconds" }).pipe(Effect.map((d) => d.results)))
  yield* show("instantiate 0", Effect.sync(() => Choreography.instantiate(Review, { Reviewer: 0 })))
  yield* show("instantiate 1.5", Effect.sync(() => Choreography.instantiate(Review, { Reviewer: 1.5 })))
  yield* show("instantiate 1e6", Effect.sync(() => Object.keys(Choreography.instantiate(Review, { Reviewer: 1_000_000 }))))
})
await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(ActorSystem.layer())))
