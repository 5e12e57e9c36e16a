/**
 * What an actor system does once its storage is fenced (another process took its node name over: here the test
 * writes the successor's token, as a takeover from another host does), in one process against a real SQLite file
 * (test/durable-node-name-fenced.test.ts does it with real processes and durable sessions): its durable actors are
 * stopped with nothing more written, one `DurableStopped` event says so, `Storage.fenced` fails with `NodeFenced`,
 * and a durable actor spawned again fails to start with it. Before, the actor went on, failing each write.
 */
import { ActorSystem, Storage, type SystemEvent } from "@troupe/runtime"
import { Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { Counter, durableCounter } from "../fixtures.ts"
import { databases } from "./databases.ts"
import { takeOver } from "./successor.ts"

const counter = durableCounter

describe.each(databases())("a system whose storage is fenced ($name)", (db) => {
  it("stops its durable actors with nothing more written, says so once, and starts none again", async () => {
    const location = await db.fresh()
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const events = yield* system.subscribe
        const stopped = yield* Effect.forkScoped(
          Stream.runHead(Stream.filter(events, (e): e is SystemEvent.DurableStopped => e._tag === "DurableStopped"))
        )
        const fenced = yield* Effect.forkScoped(Effect.exit(Storage.fenced))
        const ref = yield* ActorSystem.spawn(counter("c-1"), { name: "c" })
        yield* ref.tell(Counter.Add({ n: 2 }))
        expect(yield* ref.ask(Counter.Get())).toBe(2)
        // a successor (on another host, after this one's lease ran out) takes the name over
        yield* takeOver()
        // its next write finds it out
        yield* ref.tell(Counter.Add({ n: 3 }))
        // (bounded: before, no event came and Storage.fenced did not exist)
        const event = yield* Fiber.join(stopped).pipe(
          Effect.timeout("10 seconds"),
          Effect.orElseSucceed(() => Option.none())
        )
        const lost = yield* Fiber.join(fenced).pipe(
          Effect.timeout("10 seconds"),
          Effect.orElseSucceed(() => Exit.succeed("not fenced"))
        )
        const terminated = yield* Effect.exit(system.awaitTermination(ref).pipe(Effect.timeout("10 seconds")))
        const again = yield* Effect.exit(ActorSystem.spawn(counter("c-2"), { name: "c2" }))
        const sql = yield* SqlClient.SqlClient
        const [row] = yield* sql<{ state: string }>`SELECT state FROM troupe_snapshots WHERE persistence_id = 'c-1'`
        return { event, lost, terminated, again, stored: row?.state }
      }).pipe(
        Effect.scoped,
        Effect.provide(ActorSystem.layer({ name: "n" })),
        Effect.provide(Layer.merge(db.layer(location), db.client(location)))
      )
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    const { event, lost, terminated, again, stored } = exit.value
    expect(event._tag).toBe("Some")
    if (event._tag !== "Some") return
    expect(event.value).toMatchObject({ node: "n", actors: 1, sessions: 0, roles: 0 })
    expect(event.value.error._tag).toBe("NodeFenced")
    expect(Exit.isFailure(lost) && String(lost.cause)).toContain("NodeFenced")
    expect(Exit.isSuccess(terminated), "the durable actor stopped").toBe(true)
    expect(Exit.isFailure(again) && String(again.cause)).toContain("NodeFenced")
    // nothing after the takeover was written: the stored state is the one before
    expect(stored).toBe("2")
  }, 60_000)
})
