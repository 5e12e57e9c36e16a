/**
 * The claim of a node name on a storage, in one process against a real SQLite file and PostgreSQL (the tests in
 * test/durable-node-name.test.ts run real processes): a holder on another host (a row this test writes) is taken
 * over only after its heartbeat stood still for the lease, and refused while it moves; a storage taken over while it
 * ran refuses every later write with `NodeFenced`; a second storage of this process is refused while the first
 * holds the name, and takes it at once once the first closed.
 */
import { hostname } from "node:os"
import { Storage } from "@troupe/runtime"
import { Effect, Exit, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { databases } from "./databases.ts"
import { claim, elsewhere, takeOver } from "./successor.ts"

const failureOf = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons[0]
  if (reason?._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return reason.error as { readonly _tag: string; readonly message: string }
}

for (const db of databases()) {
  describe(`a node name's claim on ${db.name}`, () => {
    /** Writes a row as a holder on another host would have (its last heartbeat now). */
    const heldElsewhere = (location: string, node: string) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`INSERT INTO troupe_nodes (node, epoch, token, holder, heartbeat_at, released)
            VALUES (${node}, 1, 'their-token', ${JSON.stringify(elsewhere)}, ${Date.now()}, 0)`
        }).pipe(Effect.provide(db.client(location)))
      )

    it("takes over a holder on another host once its heartbeat stood still for the lease", async () => {
      const location = await db.fresh()
      await Effect.runPromise(Effect.provide(Effect.void, db.layer(location))) // the tables
      await heldElsewhere(location, "n")
      const started = Date.now()
      await Effect.runPromise(claim("n").pipe(Effect.provide(db.layer(location, { nodeLease: "1 second" }))))
      const waited = Date.now() - started
      expect(waited).toBeGreaterThanOrEqual(1000)
      const row = await Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          return (yield* sql<{ epoch: number | string; holder: string; released: number | string }>`
            SELECT epoch, holder, released FROM troupe_nodes WHERE node = 'n'`)[0]!
        }).pipe(Effect.provide(db.client(location)))
      )
      // taken over (epoch 2), by this process, and given up when its storage closed
      expect(Number(row.epoch)).toBe(2)
      expect(JSON.parse(row.holder)).toMatchObject({ pid: process.pid, host: hostname() })
      expect(Number(row.released)).toBe(1)
    })

    it("refuses the name while the heartbeat of its holder on another host moves, naming the holder", async () => {
      const location = await db.fresh()
      await Effect.runPromise(Effect.provide(Effect.void, db.layer(location)))
      await heldElsewhere(location, "n")
      const exit = await Effect.runPromiseExit(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          // the holder's heartbeat, every 100 ms
          const beat = yield* Effect.forkChild(
            Effect.forever(
              Effect.andThen(
                Effect.sleep("100 millis"),
                Effect.suspend(() => sql`UPDATE troupe_nodes SET heartbeat_at = ${Date.now()} WHERE node = 'n'`)
              )
            )
          )
          const exit = yield* Effect.exit(
            claim("n").pipe(Effect.provide(db.layer(location, { nodeLease: "3 seconds" })))
          )
          yield* Fiber.interrupt(beat)
          return yield* exit
        }).pipe(Effect.provide(db.client(location)))
      )
      const error = failureOf(exit)
      expect(error._tag).toBe("NodeNameTaken")
      expect(error.message).toContain('"n"')
      expect(error.message).toContain(`process 4242 on host ${elsewhere.host}`)
      expect(error.message).toContain("What to do")
    })

    it("refuses every write of a storage whose name was taken over while it ran, typed", async () => {
      const location = await db.fresh()
      const exit = await Effect.runPromiseExit(
        Effect.gen(function* () {
          yield* claim("n")
          const storage = yield* Storage.Storage
          yield* storage.journal.append("j", [{ seq: 1, entry: "before" }])
          // a successor (on another host, after this one's lease ran out) takes the name over
          yield* takeOver()
          const first = yield* Effect.exit(storage.journal.append("j", [{ seq: 2, entry: "after" }]))
          const later = yield* Effect.exit(storage.journal.append("j", [{ seq: 3, entry: "later" }]))
          const journal = yield* storage.journal.read("j")
          return { first, later, journal }
        }).pipe(Effect.provide(Layer.merge(db.layer(location), db.client(location))))
      )
      if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
      const { first, later, journal } = exit.value
      for (const write of [first, later]) {
        const error = failureOf(write)
        expect(error._tag).toBe("NodeFenced")
        expect(error.message).toContain('lost the node name "n"')
        expect(error.message).toContain(`process 4242 on host ${elsewhere.host}`)
      }
      expect(journal.map((e) => e.entry)).toEqual(["before"])
    })

    it("refuses a second storage of this process while the first holds the name, and takes it once the first closed", async () => {
      const location = await db.fresh()
      const second = await Effect.runPromise(
        Effect.gen(function* () {
          yield* claim("n")
          // the first storage still holds "n"
          return yield* Effect.exit(claim("n").pipe(Effect.provide(Layer.fresh(db.layer(location)))))
        }).pipe(Effect.provide(db.layer(location)))
      )
      const error = failureOf(second)
      expect(error._tag).toBe("NodeNameTaken")
      expect(error.message).toContain(`process ${process.pid} on host ${hostname()}`)
      // the first closed (it gave the name up): at once, whatever the lease
      const started = Date.now()
      await Effect.runPromise(claim("n").pipe(Effect.provide(db.layer(location, { nodeLease: "1 minute" }))))
      expect(Date.now() - started).toBeLessThan(30_000)
    })
  })
}
