import { writeFileSync } from "node:fs"
import { Storage } from "@troupe/runtime"
import { Effect, Exit, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { databases } from "./databases.ts"

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const failure = async <A, E>(effect: Effect.Effect<A, E>) => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons[0]
  if (reason?._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return reason.error as E
}

for (const db of databases()) {
  describe(`Storage on ${db.name}`, () => {
    it("creates its tables once, and records the migration", async () => {
      const location = await db.fresh()
      const versions = Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return (yield* sql<{ migration_id: number }>`SELECT migration_id FROM troupe_migrations`).map((r) =>
          Number(r.migration_id)
        )
      })
      for (let i = 0; i < 2; i++) {
        await run(Effect.provide(Effect.void, db.layer(location)))
      }
      expect(await run(Effect.provide(versions, db.client(location)))).toEqual([1, 2, 3])
      const stored = await run(Storage.Storage.use((s) => s.state("nobody")).pipe(Effect.provide(db.layer(location))))
      expect(Option.isNone(stored)).toBe(true)
    })

    it("migrates a database of an older version, keeping what it holds", async () => {
      const location = await db.fresh()
      await run(Effect.provide(Effect.void, db.layer(location)))
      // the database as version 1 left it: a state stored, and none of version 2's or 3's tables
      const back = Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO troupe_snapshots (persistence_id, revision, version, state, updated_at) VALUES ('kept', 1, 1, '7', 0)`
        yield* sql`DROP TABLE troupe_nodes`
        yield* sql`DROP TABLE troupe_session_log`
        yield* sql`DROP TABLE troupe_session_roles`
        yield* sql`DROP TABLE troupe_sessions`
        yield* sql`DELETE FROM troupe_migrations WHERE migration_id >= 2`
      })
      await run(Effect.provide(back, db.client(location)))
      const kept = await run(Storage.Storage.use((s) => s.state("kept")).pipe(Effect.provide(db.layer(location))))
      expect(Option.getOrUndefined(kept)?.state).toBe(7)
      const tables = Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const sessions = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM troupe_sessions`
        const nodes = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM troupe_nodes`
        return [...sessions, ...nodes].map((r) => Number(r.n))
      })
      expect(await run(Effect.provide(tables, db.client(location)))).toEqual([0, 0])
    })

    it("refuses a database migrated by a newer Troupe, and writes nothing to it", async () => {
      const location = await db.fresh()
      await run(Effect.provide(Effect.void, db.layer(location)))
      const bump = Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO troupe_migrations (migration_id, name) VALUES (99, 'from_the_future')`
      })
      await run(Effect.provide(bump, db.client(location)))
      const error = await failure(Effect.provide(Effect.void, db.layer(location)))
      expect(error._tag).toBe("StorageTooNew")
      expect(error.message).toContain("version 99")
      expect(error.message).toContain("What to do")
    })
  })
}

describe("Storage on a file that is not a database", () => {
  it("fails with StorageCorrupt naming the file", async () => {
    const [sqlite] = databases()
    const file = await sqlite!.fresh()
    writeFileSync(file, "this is not a SQLite database, it is a text file of more than a page".repeat(100))
    const error = await failure(Effect.provide(Effect.void, Layer.fresh(sqlite!.layer(file))))
    expect(error._tag).toBe("StorageCorrupt")
    expect(error.message).toContain(file)
  })
})
