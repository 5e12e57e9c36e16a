/**
 * One write the database refuses fails only its own caller (`durable/internal/writer.ts`): the writer commits the
 * writes of many actors and sessions in one transaction, and a statement refused there (a constraint, a trigger)
 * rolls all of it back. The batch is then written again write by write, each in a savepoint: the refused write
 * fails, typed, and the others commit. Before, every waiter of the batch failed with the refused write's error
 * (other sessions' log writes, other actors' states and inbox rows with it). Writes given one unit (a session log's)
 * commit together or not at all.
 */
import { Context, Deferred, Effect, Exit, Fiber, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { storeMessage } from "../../src/durable/internal/inbox.ts"
import type { Tracked } from "../../src/durable/internal/writer.ts"
import * as Storage from "../../src/durable/Storage.ts"
import { type Database, databases } from "./databases.ts"

const dbs = databases()

/** Makes the database refuse inbox rows whose recipient starts with `refused` (a CHECK constraint; a trigger on SQLite). */
const refuseRecipients = (db: Database, sql: SqlClient.SqlClient) =>
  db.name === "sqlite"
    ? sql.unsafe(`CREATE TRIGGER refuse_rows BEFORE INSERT ON troupe_inbox WHEN NEW.recipient LIKE 'refused%'
        BEGIN SELECT RAISE(ABORT, 'inbox row refused by the test'); END`)
    : sql.unsafe(`ALTER TABLE troupe_inbox ADD CONSTRAINT refuse_rows CHECK (recipient NOT LIKE 'refused%')`)

/** A durable actor's instance as the writer sees it: state `json`, with `ops` to commit with it. */
const tracked = (persistenceId: string, json: string, ops: Tracked["ops"]): Tracked => ({
  persistenceId,
  revision: 0,
  version: 1,
  encode: () => json,
  dirty: false,
  inFlight: false,
  ops,
  waiters: [],
  afterCommit: [],
  failure: undefined
})

const row = (sql: SqlClient.SqlClient, recipient: string) =>
  sql`INSERT INTO troupe_inbox ${sql.insert({
    recipient,
    message_id: "m",
    message: "{}",
    handled: 0,
    reply: null,
    created_at: Date.now()
  })}`

describe.each(dbs)("a write batch on $name with a write the database refuses", (db) => {
  it("fails only the refused write's caller: the other writes of the batch commit", async () => {
    const location = await db.fresh()
    const program = Effect.gen(function* () {
      const context = yield* Layer.build(db.layer(location))
      const { sql, writer } = Storage.internal(Context.get(context, Storage.Storage))
      yield* refuseRecipients(db, sql)
      // the first batch is held open until the others are queued behind it: they are written as one batch
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const first = yield* Effect.forkChild(
        writer.run(() => Effect.andThen(Deferred.succeed(opened, undefined), Deferred.await(release)))
      )
      yield* Deferred.await(opened)
      const stored = (recipient: string) =>
        writer.runRow(storeMessage, { recipient, messageId: "m", message: "{}", createdAt: Date.now() })
      const good = tracked("good", "1", [(sql) => row(sql, "good-actor")])
      const refused = tracked("refused", "2", [(sql) => row(sql, "refused-actor")])
      const unit = {}
      const writes: Record<string, Effect.Effect<unknown, unknown>> = {
        // three rows of one multi-row statement, the middle one refused
        a: stored("a"),
        refusedRow: stored("refused-row"),
        b: stored("b"),
        op: writer.run((sql) => row(sql, "c")),
        refusedOp: writer.run((sql) => row(sql, "refused-op")),
        // two writes of one unit (a session log's, see sessionLog.ts): together or not at all
        unitGood: writer.run((sql) => row(sql, "unit"), unit),
        unitRefused: writer.run((sql) => row(sql, "refused-unit"), unit),
        goodState: writer.commit(good),
        refusedState: writer.commit(refused)
      }
      const fibers = yield* Effect.sync(() =>
        Object.entries(writes).map(([name, write]) => [name, Effect.runFork(Effect.exit(write))] as const)
      )
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(first)
      const outcomes: Record<string, string> = {}
      for (const [name, fiber] of fibers) {
        const exit = yield* Fiber.join(fiber)
        outcomes[name] = Exit.isSuccess(exit) ? "written" : exit.cause.toString().split("\n")[0]!
      }
      const inbox = yield* sql<{ recipient: string }>`SELECT recipient FROM troupe_inbox ORDER BY recipient`
      const states = yield* sql<{ persistence_id: string }>`SELECT persistence_id FROM troupe_snapshots`
      return {
        outcomes,
        inbox: inbox.map((r) => r.recipient),
        states: states.map((r) => r.persistence_id),
        failures: [good.failure?._tag, refused.failure?._tag]
      }
    })
    const { outcomes, inbox, states, failures } = await Effect.runPromise(Effect.scoped(program))
    const refusal = expect.stringMatching(/StorageUnavailable.*failed.*refus/)
    // before: every write failed with the refused row's error
    expect(outcomes).toEqual({
      a: "written",
      refusedRow: refusal,
      b: "written",
      op: "written",
      refusedOp: refusal,
      unitGood: refusal,
      unitRefused: refusal,
      goodState: "written",
      refusedState: refusal
    })
    expect(inbox).toEqual(["a", "b", "c", "good-actor"])
    // the refused actor's state was not written with its refused statement; the instance is marked failed
    expect(states).toEqual(["good"])
    expect(failures).toEqual([undefined, "StorageUnavailable"])
  }, 60_000)
})
