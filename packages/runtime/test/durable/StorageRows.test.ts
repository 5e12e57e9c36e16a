/**
 * The writer's multi-row statements (`durable/internal/rows.ts`): the writes of a batch that share a statement
 * (durable messages stored, messages marked handled, states written) run as a few statements of many rows, and
 * each write's outcome is the one it had when every write was a statement of its own, run in order:
 *
 * - messages: a message sent twice in one batch, one already stored (pending or handled), other writes between;
 *   the outcomes and the inbox (its rows, in their order) are compared with the one-by-one statements';
 * - states: a new one, a revision that matches, a stale one, a deleted row, one persistence id twice, one that
 *   does not encode; and a message marked handled twice (the last reply stays);
 * - more rows than one statement may bind (PostgreSQL 65,535 values, SQLite 32,766).
 */
import { Storage } from "@troupe/runtime"
import { Context, Deferred, Effect, Exit, Fiber, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import * as Inbox from "../../src/durable/internal/inbox.ts"
import { writeStates } from "../../src/durable/internal/snapshots.ts"
import type { Tracked, Writer } from "../../src/durable/internal/writer.ts"
import { rowOf, type Write } from "../../src/durable/internal/writes.ts"
import { databases } from "./databases.ts"

/** The storage's writer and SqlClient on the database at `location` (its layer lives as long as the scope). */
const storageOf = (layer: Layer.Layer<Storage.Storage, Storage.StorageError>) =>
  Effect.map(Layer.build(layer), (context) => Storage.internal(Context.get(context, Storage.Storage)))

/** Runs `writes` in one batch of `writer`: queued in order behind a held batch, then released together. */
const inOneBatch = <A>(writer: Writer, writes: ReadonlyArray<() => Effect.Effect<A, unknown>>) =>
  Effect.gen(function* () {
    const opened = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const held = yield* Effect.forkChild(
      writer.run(() => Effect.andThen(Deferred.succeed(opened, undefined), Deferred.await(release)))
    )
    yield* Deferred.await(opened)
    // queued at once (a write joins the writer's queue as its fiber starts), in this order
    const fibers = yield* Effect.sync(() => writes.map((write) => Effect.runFork(Effect.exit(write()))))
    yield* Deferred.succeed(release, undefined)
    yield* Fiber.join(held)
    return yield* Fiber.joinAll(fibers)
  })

/** What storing a durable message did before multi-row statements: its own insert, then its own read. */
const storeOneByOne = (sql: SqlClient.SqlClient, r: Inbox.Stored) =>
  Effect.gen(function* () {
    const inserted = yield* sql`INSERT INTO troupe_inbox ${sql.insert({
      recipient: r.recipient,
      message_id: r.messageId,
      message: r.message,
      handled: 0,
      reply: null,
      created_at: r.createdAt
    })} ON CONFLICT (recipient, message_id) DO NOTHING RETURNING seq`
    if (inserted.length > 0) return undefined
    const rows = yield* sql<{ handled: number | string; reply: string | null }>`SELECT handled, reply
      FROM troupe_inbox WHERE recipient = ${r.recipient} AND message_id = ${r.messageId}`
    const row = rows[0]
    if (row === undefined) return undefined
    return Number(row.handled) === 1 ? (JSON.parse(row.reply ?? "") as unknown) : Inbox.storedEarlier
  })

/** The inbox as stored, in the order its rows were stored (their sequence numbers themselves may differ). */
const inbox = (sql: SqlClient.SqlClient) =>
  Effect.map(
    sql<{
      recipient: string
      message_id: string
      message: string
      handled: number | string
      reply: string | null
    }>`SELECT recipient, message_id, message, handled, reply FROM troupe_inbox ORDER BY seq`,
    (rows) => rows.map((r) => `${r.recipient} ${r.message_id} ${r.message} ${Number(r.handled)} ${r.reply}`)
  )

const handledReply = JSON.stringify({ _tag: "Success", value: 7 })

/** Two messages stored before the batch: `a/h1` handled (its reply 7), `a/p1` pending. */
const before = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    yield* sql`INSERT INTO troupe_inbox ${sql.insert([
      { recipient: "a", message_id: "h1", message: '"h"', handled: 1, reply: handledReply, created_at: 1 },
      { recipient: "a", message_id: "p1", message: '"p"', handled: 0, reply: null, created_at: 1 }
    ] as never)}`
  })

type Step = { readonly store: readonly [recipient: string, id: string, message: string] } | { readonly forget: string }

/** A batch's writes: sent twice, stored before (handled, pending), and a recipient forgotten between two sends. */
const steps: ReadonlyArray<Step> = [
  { store: ["a", "n1", '"x1"'] },
  { store: ["b", "n1", '"y1"'] },
  { store: ["a", "h1", '"again"'] },
  { store: ["a", "n1", '"x2"'] },
  { store: ["a", "p1", '"again"'] },
  { store: ["a", "n2", '"x3"'] },
  { forget: "b" },
  { store: ["b", "n1", '"y2"'] },
  { store: ["a", "h1", '"again"'] },
  { store: ["a", "n1", '"x4"'] }
]

const stored = (store: readonly [string, string, string]): Inbox.Stored => ({
  recipient: store[0],
  messageId: store[1],
  message: store[2],
  createdAt: 2
})

const forget = (recipient: string) => (sql: SqlClient.SqlClient) =>
  sql`DELETE FROM troupe_inbox WHERE recipient = ${recipient}`

/** A durable actor's instance as the writer sees it, with `ops` to commit with its state. */
const tracked = (
  persistenceId: string,
  revision: number,
  state: unknown,
  ops: Array<Write> = [],
  encode: () => string = () => JSON.stringify(state)
): Tracked => ({
  persistenceId,
  revision,
  version: 1,
  encode,
  dirty: false,
  inFlight: false,
  ops,
  waiters: [],
  afterCommit: [],
  failure: undefined
})

const mark = (recipient: string, messageId: string, reply: string) =>
  rowOf(Inbox.markHandled, { recipient, messageId, reply })

for (const db of databases()) {
  describe(`a storage's multi-row writes on ${db.name}`, () => {
    it("store durable messages as storing them one by one did: sent twice in a batch, stored before, other writes between", async () => {
      const program = (oneByOne: boolean) =>
        Effect.gen(function* () {
          const { writer, sql } = yield* storageOf(db.layer(yield* Effect.promise(() => db.fresh())))
          yield* before(sql)
          const exits = oneByOne
            ? // the same writes, each its own statement, one after the other in one transaction
              [
                yield* sql.withTransaction(
                  Effect.forEach(steps, (step) =>
                    "store" in step
                      ? storeOneByOne(sql, stored(step.store))
                      : Effect.as(forget(step.forget)(sql), "forgot")
                  )
                )
              ]
            : yield* inOneBatch(
                writer,
                steps.map((step): (() => Effect.Effect<unknown, unknown>) =>
                  "store" in step
                    ? () => writer.runRow(Inbox.storeMessage, stored(step.store))
                    : () => Effect.as(writer.run(forget(step.forget)), "forgot")
                )
              )
          const outcomes = oneByOne
            ? exits[0]
            : (exits as ReadonlyArray<Exit.Exit<unknown, unknown>>).map((exit) =>
                Exit.isSuccess(exit) ? exit.value : `failed: ${String(exit.cause)}`
              )
          return { outcomes, inbox: yield* inbox(sql) }
        })
      const merged = await Effect.runPromise(Effect.scoped(program(false)))
      const oneByOne = await Effect.runPromise(Effect.scoped(program(true)))
      expect(merged).toEqual(oneByOne)
      // what that is: the handled one answered from the inbox each time, the first of a twice-sent one kept (the second
      // send, and a pending one sent again, find it stored earlier)
      expect(merged.outcomes).toEqual([
        undefined,
        undefined,
        { _tag: "Success", value: 7 },
        Inbox.storedEarlier,
        Inbox.storedEarlier,
        undefined,
        "forgot",
        undefined,
        { _tag: "Success", value: 7 },
        Inbox.storedEarlier
      ])
      expect(merged.inbox).toEqual([
        `a h1 "h" 1 ${handledReply}`,
        'a p1 "p" 0 null',
        'a n1 "x1" 0 null',
        'a n2 "x3" 0 null',
        'b n1 "y2" 0 null'
      ])
    })

    it("write states and handled marks as writing them one by one did: revisions checked in order, marks of refused states left out", async () => {
      const program = Effect.gen(function* () {
        const { writer, sql } = yield* storageOf(db.layer(yield* Effect.promise(() => db.fresh())))
        yield* sql`INSERT INTO troupe_snapshots ${sql.insert([
          { persistence_id: "ok", revision: 2, version: 1, state: '"old"', updated_at: 1 },
          { persistence_id: "stale", revision: 5, version: 1, state: '"old"', updated_at: 1 }
        ] as never)}`
        yield* sql`INSERT INTO troupe_inbox ${sql.insert(
          [
            ["ok", "m1"],
            ["ok", "m2"],
            ["stale", "m1"],
            ["broken", "m1"]
          ].map(([recipient, id]) => ({
            recipient,
            message_id: id,
            message: "{}",
            handled: 0,
            reply: null,
            created_at: 1
          })) as never
        )}`
        const instances = [
          tracked("new", 0, "first"),
          tracked("ok", 2, "second", [mark("ok", "m1", "r1"), mark("ok", "m2", "r2a"), mark("ok", "m2", "r2b")]),
          tracked("stale", 3, "third", [mark("stale", "m1", "r")]),
          tracked("gone", 4, "fourth"),
          // the same persistence ids again, after their first writes in this batch
          tracked("ok", 0, "fifth"),
          tracked("new", 1, "sixth"),
          // refused (nothing stored under it), then stored new: in that order, not the other way round
          tracked("late", 1, "seventh"),
          tracked("late", 0, "eighth"),
          tracked("broken", 0, undefined, [mark("broken", "m1", "r")], () => {
            throw new Error("no JSON for this state")
          })
        ]
        const exits = yield* inOneBatch(
          writer,
          instances.map((t) => () => writer.commit(t))
        )
        const states = yield* sql<{
          persistence_id: string
          revision: number | string
          state: string
        }>`SELECT persistence_id, revision, state FROM troupe_snapshots ORDER BY persistence_id`
        return {
          outcomes: exits.map((exit) =>
            Exit.isSuccess(exit)
              ? "written"
              : exit.cause.reasons.map((r) => (r._tag === "Fail" ? r.error : r._tag)).map((e) => JSON.stringify(e))
          ),
          revisions: instances.map((t) => t.revision),
          states: states.map((s) => `${s.persistence_id} ${Number(s.revision)} ${s.state}`),
          inbox: yield* inbox(sql)
        }
      })
      const result = await Effect.runPromise(Effect.scoped(program))
      const conflict = (persistenceId: string, expected: number, found: number) => [
        JSON.stringify({ _tag: "PersistenceConflict", persistenceId, expected, found })
      ]
      expect(result.outcomes).toEqual([
        "written",
        "written",
        conflict("stale", 3, 5),
        conflict("gone", 4, 0),
        conflict("ok", 0, 3),
        "written",
        conflict("late", 1, 0),
        "written",
        [JSON.stringify({ _tag: "StateNotEncodable", persistenceId: "broken", detail: "no JSON for this state" })]
      ])
      expect(result.revisions).toEqual([1, 3, 3, 4, 0, 2, 1, 1, 0])
      expect(result.states).toEqual(['late 1 "eighth"', 'new 2 "sixth"', 'ok 3 "second"', 'stale 5 "old"'])
      expect(result.inbox).toEqual(["ok m1 {} 1 r1", "ok m2 {} 1 r2b", "stale m1 {} 0 null", "broken m1 {} 0 null"])
    })

    it("split rows over the parameter limit into several statements (22,000 messages, marks and states)", async () => {
      const n = 22_000
      const program = Effect.gen(function* () {
        const { sql } = yield* storageOf(db.layer(yield* Effect.promise(() => db.fresh())))
        const messages = Array.from({ length: n }, (_, i) => stored([`r${i % 100}`, `m${i}`, `${i}`]))
        const reply = JSON.stringify({ _tag: "None" })
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            // 6 values a row: 132,000 in all
            const first = yield* Inbox.storeMessage.run(sql, messages)
            // 3 values a row: 66,000
            yield* Inbox.markHandled.run(
              sql,
              messages.map((m) => ({ recipient: m.recipient, messageId: m.messageId, reply }))
            )
            // all stored before: 2 values a row to read their replies, 44,000
            const again = yield* Inbox.storeMessage.run(sql, messages)
            const states = (revision: number) =>
              Array.from({ length: n }, (_, i) => ({ persistenceId: `s${i}`, revision, version: 1, json: `${i}` }))
            // 5 values a new state (110,000), 4 a state written again (88,000)
            const inserted = yield* writeStates(sql, states(0), 1)
            const updated = yield* writeStates(sql, states(1), 2)
            const counts = yield* sql<{ messages: number | string; handled: number | string; states: number | string }>`
              SELECT (SELECT COUNT(*) FROM troupe_inbox) AS messages,
                     (SELECT COUNT(*) FROM troupe_inbox WHERE handled = 1) AS handled,
                     (SELECT COUNT(*) FROM troupe_snapshots WHERE revision = 2) AS states`
            return {
              first: first.filter((r) => r !== undefined).length,
              again: again.filter((r) => JSON.stringify(r) === reply).length,
              conflicts: [...inserted, ...updated].filter((c) => c !== undefined).length,
              counts: Object.values(counts[0]!).map(Number)
            }
          })
        )
      })
      expect(await Effect.runPromise(Effect.scoped(program))).toEqual({
        first: 0,
        again: n,
        conflicts: 0,
        counts: [n, n, n]
      })
    }, 120_000)
  })
}
