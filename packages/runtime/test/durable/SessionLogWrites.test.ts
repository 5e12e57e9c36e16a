/**
 * The sends of a durable session's roles are written to its log behind (batched, nobody waits; see
 * `durable/internal/sessionLog.ts`), and a role counts a send as stored once it handed it over: when it replays, it
 * does not write it again. So a send must reach the log while its role lives, whatever happens to the batch that
 * first carried it, or the log has a gap: the receiver, resuming from the log, is given message 4 where it expects
 * message 3 (a `ProtocolViolation` "message 4 from B, expected 3"), or never gets the message back.
 *
 * - a batch the database refuses (here a trigger refuses the log's send rows; in the multi-runner tests PostgreSQL
 *   "Storage unreachable"): its sends are written by a later batch once the database takes rows again;
 * - a batch PostgreSQL aborts as a deadlock's victim and the writer runs again (`writer.ts`): the second run writes
 *   the same sends (before, the first run had taken them, and the second wrote none, and committed);
 * - a batch with the log writes of several sessions, one of which the database refuses: only that session's writes
 *   fail and give their sends back; the other sessions' commit (before, the log's writes of a batch were one unit for
 *   the writer, and a `once` took every session's sends: one session's refused row failed every session's commit);
 * - a batch with the log writes of many sessions (sends and `once` results) inserts them in one statement (before, two
 *   a session: each a round trip, each a turn of a loaded runner's event loop, and every `once` waited for them all).
 */
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { sessionStore } from "../../src/durable/internal/sessionStore.ts"
import * as Storage from "../../src/durable/Storage.ts"
import { type Database, databases } from "./databases.ts"

const dbs = databases()

/** The storage's SQL client and session store (the layer lives as long as the scope). */
const storeOn = (db: Database, location: string) =>
  Effect.map(Layer.build(db.layer(location)), (context) => {
    const { sql, writer, failed } = Storage.internal(Context.get(context, Storage.Storage))
    return { sql, writer, store: sessionStore(sql, writer, failed) }
  })

/** A trigger that makes the database refuse the log's send rows (or `drop` it). */
const refuseSends = (db: Database, sql: SqlClient.SqlClient) =>
  db.name === "sqlite"
    ? sql.unsafe(`CREATE TRIGGER refuse_sends BEFORE INSERT ON troupe_session_log WHEN NEW.kind = 'send'
        BEGIN SELECT RAISE(ABORT, 'send rows refused by the test'); END`)
    : Effect.andThen(
        sql.unsafe(`CREATE FUNCTION refuse_sends() RETURNS trigger AS $$
          BEGIN RAISE EXCEPTION 'send rows refused by the test'; END $$ LANGUAGE plpgsql`),
        sql.unsafe(`CREATE TRIGGER refuse_sends BEFORE INSERT ON troupe_session_log FOR EACH ROW
          WHEN (NEW.kind = 'send') EXECUTE FUNCTION refuse_sends()`)
      )
const dropRefusal = (db: Database, sql: SqlClient.SqlClient) =>
  sql.unsafe(db.name === "sqlite" ? "DROP TRIGGER refuse_sends" : "DROP TRIGGER refuse_sends ON troupe_session_log")

/** The numbers of the messages the log holds from B to A in session `s`, as A reads them when it resumes. */
const fromB = (store: ReturnType<typeof sessionStore>) =>
  Effect.map(store.role("s", "A"), (log) => (log.inbound.get("B") ?? []).map(([seq]) => seq))

describe.each(dbs)("a durable session's log on $name", (db) => {
  it("a batch the database refuses gives its sends back: the log has every message once it takes rows again", async () => {
    const location = await db.fresh()
    const program = Effect.gen(function* () {
      const { sql, store } = yield* storeOn(db, location)
      yield* refuseSends(db, sql)
      // B sends A messages 1 and 2 (written behind), then commits a `once` result: all in one refused batch
      store.appendSend("s", "B", "A", [1, "record", 1])
      store.appendSend("s", "B", "A", [2, "record", 2])
      const refused = yield* Effect.exit(store.commitOnce("s", "B", 0, "null"))
      // the database takes rows again; B goes on: message 3, another `once`
      yield* dropRefusal(db, sql)
      store.appendSend("s", "B", "A", [3, "record", 3])
      yield* store.commitOnce("s", "B", 1, "null")
      // sends given back are written by the next batch (a later one if the first given back raced it), within 10 s
      let seqs = yield* fromB(store)
      for (const since = Date.now(); seqs.length < 3 && Date.now() - since < 10_000; seqs = yield* fromB(store))
        yield* Effect.sleep(Duration.millis(50))
      return { refused, seqs, onces: (yield* store.role("s", "B")).onces }
    })
    const { refused, seqs, onces } = await Effect.runPromise(Effect.scoped(program))
    // the premise: the first batch was refused (and its `once` result with it)
    expect(Exit.isFailure(refused)).toBe(true)
    expect(onces).toEqual([undefined, null])
    // before: [3] (messages 1 and 2 were dropped with the refused batch, and B never writes them again)
    expect(seqs).toEqual([1, 2, 3])
  }, 30_000)

  it("a refused log write of one session fails only that session's writes, not another's in the same batch", async () => {
    const location = await db.fresh()
    const program = Effect.gen(function* () {
      const { sql, store } = yield* storeOn(db, location)
      // the database refuses every row of session "bad" (a constraint, a trigger: what one session's data can meet)
      yield* db.name === "sqlite"
        ? sql.unsafe(`CREATE TRIGGER refuse_bad BEFORE INSERT ON troupe_session_log WHEN NEW.session = 'bad'
            BEGIN SELECT RAISE(ABORT, 'session bad refused by the test'); END`)
        : Effect.andThen(
            sql.unsafe(`CREATE FUNCTION refuse_bad() RETURNS trigger AS $$
              BEGIN RAISE EXCEPTION 'session bad refused by the test'; END $$ LANGUAGE plpgsql`),
            sql.unsafe(`CREATE TRIGGER refuse_bad BEFORE INSERT ON troupe_session_log FOR EACH ROW
              WHEN (NEW.session = 'bad') EXECUTE FUNCTION refuse_bad()`)
          )
      // both sessions' roles send, then commit a `once` result each: their writes go in one batch
      store.appendSend("good", "B", "A", [1, "record", 1])
      store.appendSend("bad", "B", "A", [1, "record", 1])
      const [good, bad] = yield* Effect.all(
        [Effect.exit(store.commitOnce("good", "B", 0, "null")), Effect.exit(store.commitOnce("bad", "B", 0, "null"))],
        { concurrency: "unbounded" }
      )
      const goodLog = yield* store.role("good", "A")
      return {
        good,
        bad,
        sent: (goodLog.inbound.get("B") ?? []).map(([seq]) => seq),
        onces: (yield* store.role("good", "B")).onces
      }
    })
    const { good, bad, sent, onces } = await Effect.runPromise(Effect.scoped(program))
    // the premise: session bad's commit was refused
    expect(Exit.isFailure(bad)).toBe(true)
    // before: session good's commit failed with it (and its send was not written)
    expect(Exit.isSuccess(good) ? "committed" : String(good.cause)).toBe("committed")
    expect(onces).toEqual([null])
    expect(sent).toEqual([1])
  }, 30_000)

  it.skipIf(db.name !== "postgres")(
    "a batch run again after a deadlock writes its sends again (the first run's were rolled back)",
    async () => {
      const location = await db.fresh()
      const program = Effect.gen(function* () {
        const { sql, store } = yield* storeOn(db, location)
        // the database aborts the first transaction that writes a send row as a deadlock's victim (SQLSTATE 40P01,
        // what PostgreSQL answers when two runners' batches lock the same rows in opposite orders); a sequence, as
        // it is not rolled back with the transaction
        yield* sql.unsafe("CREATE SEQUENCE send_rows")
        yield* sql.unsafe(`CREATE FUNCTION victim_once() RETURNS trigger AS $$
          BEGIN
            IF nextval('send_rows') = 1 THEN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF;
            RETURN NEW;
          END $$ LANGUAGE plpgsql`)
        yield* sql.unsafe(`CREATE TRIGGER victim_once BEFORE INSERT ON troupe_session_log FOR EACH ROW
          WHEN (NEW.kind = 'send') EXECUTE FUNCTION victim_once()`)
        store.appendSend("s", "B", "A", [1, "record", 1])
        store.appendSend("s", "B", "A", [2, "record", 2])
        yield* store.commitOnce("s", "B", 0, "null")
        const rows = yield* sql<{ n: string }>`SELECT last_value::text AS n FROM send_rows`
        return { seqs: yield* fromB(store), inserts: Number(rows[0]!.n) }
      })
      const { seqs, inserts } = await Effect.runPromise(Effect.scoped(program))
      // before: [] (the second run found no sends to write, and committed the `once` result without them)
      expect(seqs).toEqual([1, 2])
      // the batch was aborted once, then its second run wrote the send row again (before: 1, no second insert)
      expect(inserts).toBe(2)
    },
    30_000
  )

  it("the log writes of many sessions in one batch are one statement", async () => {
    const location = await db.fresh()
    const SESSIONS = 40
    const program = Effect.gen(function* () {
      const { sql, writer, store } = yield* storeOn(db, location)
      // on PostgreSQL the database counts the statements that insert into the log (a statement-level trigger)
      if (db.name === "postgres") {
        yield* sql.unsafe("CREATE SEQUENCE log_statements")
        yield* sql.unsafe(`CREATE FUNCTION count_statement() RETURNS trigger AS $$
          BEGIN PERFORM nextval('log_statements'); RETURN NULL; END $$ LANGUAGE plpgsql`)
        yield* sql.unsafe(`CREATE TRIGGER count_statement AFTER INSERT ON troupe_session_log
          FOR EACH STATEMENT EXECUTE FUNCTION count_statement()`)
      }
      // a batch held open while every session's role sends twice and commits a `once` result (queued behind it)
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const held = yield* Effect.forkChild(
        writer.run(() => Effect.andThen(Deferred.succeed(opened, undefined), Deferred.await(release)))
      )
      yield* Deferred.await(opened)
      const ids = Array.from({ length: SESSIONS }, (_, i) => `s${i}`)
      const commits = yield* Effect.sync(() =>
        ids.map((s) => {
          store.appendSend(s, "B", "A", [1, "record", 1])
          store.appendSend(s, "B", "C", [1, "record", 2])
          return Effect.runFork(Effect.exit(store.commitOnce(s, "B", 0, JSON.stringify(s))))
        })
      )
      const callsBefore = writer.calls.count
      const writesBefore = writer.calls.writes
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(held)
      const exits = yield* Fiber.joinAll(commits)
      const calls = writer.calls.count - callsBefore
      const writes = writer.calls.writes - writesBefore
      const statements =
        db.name === "postgres"
          ? Number((yield* sql<{ n: string }>`SELECT last_value::text AS n FROM log_statements`)[0]!.n)
          : undefined
      const logs = yield* Effect.forEach(ids, (s) =>
        Effect.all([store.role(s, "A"), store.role(s, "C"), store.role(s, "B")])
      )
      return { exits, calls, writes, statements, logs }
    })
    const { exits, calls, writes, statements, logs } = await Effect.runPromise(Effect.scoped(program))
    expect(exits.every(Exit.isSuccess)).toBe(true)
    // every session's rows are stored: its sends to A and to C, its `once` result
    logs.forEach(([a, c, b], i) => {
      expect((a.inbound.get("B") ?? []).map(([seq]) => seq)).toEqual([1])
      expect((c.inbound.get("B") ?? []).map(([seq]) => seq)).toEqual([1])
      expect(b.onces).toEqual([`s${i}`])
    })
    // before: 80 statements (each session's sends, then its `once` result), in the writer's count and the database's
    expect(calls).toBe(1)
    if (statements !== undefined) expect(statements).toBe(1)
    // each session's commit, and at most one write behind for its sends (before: 1,680, every send queued a write for
    // every session with sends pending, and the batches took them 500 at a time)
    expect(writes).toBeLessThanOrEqual(2 * SESSIONS)
  }, 30_000)
})
