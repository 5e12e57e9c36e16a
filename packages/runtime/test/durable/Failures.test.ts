/**
 * A database that is full or down: typed errors naming the persistence id and what to do, nothing acknowledged
 * that was not committed, and the actor back on its committed state once the database is.
 */
import { ActorSystem, Behavior, Durable, Storage, Supervisor } from "@troupe/runtime"
import { Effect, Exit, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { Counter } from "../fixtures.ts"
import { databases } from "./databases.ts"

const Notes = Schema.Array(Schema.String)

const notes = (id: string) =>
  Durable.persistent(
    Behavior.make(Counter, {
      initial: [] as ReadonlyArray<string>,
      receive: {
        Add: (list, { n }) => Effect.succeed([...list, "x".repeat(n)]),
        Get: (list) => Effect.succeed({ state: list, reply: list.length }),
        Fail: (list) => Effect.succeed(list)
      }
    }),
    { id, state: Notes }
  )

// PostgreSQL: a server of this file's own, which a test stops and starts again
const [sqlite, postgres] = databases({ ownServer: true })

describe("a full database", () => {
  it("fails the write typed, acknowledges nothing, and the actor goes on from what was committed", async () => {
    const file = await sqlite!.fresh()
    // a SQLite database limited to a few pages: a real SQLITE_FULL, not an imitation
    const client = Layer.effectDiscard(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`PRAGMA max_page_count = 40`
      })
    )
    const base = Storage.sqliteClient({ filename: file })
    const storage = Layer.provideMerge(Storage.layer(), Layer.provideMerge(client, base))
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(notes("notes"), { name: "notes", restart: "permanent" })
        yield* ref.tell(Counter.Add({ n: 10 }))
        const before = yield* ref.ask(Counter.Get())
        // a note bigger than the database can hold
        yield* ref.tell(Counter.Add({ n: 400_000 }))
        const full = yield* Effect.exit(ref.ask(Counter.Get()))
        const after = yield* ref.ask(Counter.Get())
        const stored = yield* Storage.Storage.use((s) => s.state("notes"))
        return { before, full, after, stored: Option.getOrUndefined(stored)?.state }
      }).pipe(Effect.provide(ActorSystem.layer()), Effect.provide(storage))
    )
    expect(result.before).toBe(1)
    expect(Exit.isFailure(result.full)).toBe(true)
    const text = String(Exit.isFailure(result.full) ? result.full.cause : "")
    expect(text).toContain("StorageUnavailable")
    expect(text).toContain("full")
    expect(text).toContain('"notes"')
    expect(text).toContain("What to do")
    // the big note was never committed: the restarted actor has the one note it had
    expect(result.after).toBe(1)
    expect(result.stored).toEqual(["x".repeat(10)])
  })
})

if (postgres !== undefined) {
  describe("a database that goes down", () => {
    // the actor's start fails while the database is down, and each failed start is a restart: the default budget
    // (5 in 30 s, backoff from 100 ms) is spent ~6 s into the outage, and a stop and restart of the server took
    // longer at load 38 (the actor escalated, RecipientTerminated); a budget for a minute's outage
    const outage = Supervisor.oneForOne({
      maxRestarts: 100,
      within: "1 minute",
      backoff: Supervisor.backoff({ min: "100 millis", max: "500 millis" })
    })
    it("fails typed while it is down, and the actor is back on its committed state when it is up", async () => {
      const url = await postgres.fresh()
      const server = postgres.server()!
      const result = await Effect.runPromise(
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(notes("pg-notes"), { name: "notes", restart: "permanent" })
          yield* ref.tell(Counter.Add({ n: 3 }))
          const before = yield* ref.ask(Counter.Get())
          yield* Effect.promise(() => server.stop({ keep: true }))
          yield* ref.tell(Counter.Add({ n: 4 }))
          const down = yield* Effect.exit(ref.ask(Counter.Get(), { timeout: "10 seconds" }))
          yield* Effect.promise(() => server.restart())
          // the supervisor restarts it (with backoff) until the database answers again
          let after: Exit.Exit<number, unknown> = Exit.fail("not yet")
          for (let i = 0; i < 100 && Exit.isFailure(after); i++) {
            after = yield* Effect.exit(ref.ask(Counter.Get(), { timeout: "2 seconds" }))
            if (Exit.isFailure(after)) yield* Effect.sleep("100 millis")
          }
          return { before, down, after }
        }).pipe(Effect.provide(ActorSystem.layer({ guardian: outage })), Effect.provide(postgres.layer(url)))
      )
      expect(result.before).toBe(1)
      const text = String(Exit.isFailure(result.down) ? result.down.cause : "acknowledged while down")
      expect(text).toContain("StorageUnavailable")
      expect(text).toContain("unreachable")
      expect(text).toContain('"pg-notes"')
      expect(Exit.isSuccess(result.after) ? result.after.value : result.after).toBe(1)
    }, 60_000)

    it("a storage that cannot reach its database fails to start, typed", async () => {
      const exit = await Effect.runPromiseExit(
        Effect.provide(
          Effect.void,
          Storage.layerPostgres({ url: "postgres://postgres:troupe@127.0.0.1:1/troupe", maxConnections: 1 })
        )
      )
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("StorageUnavailable")
    })
  })
}
