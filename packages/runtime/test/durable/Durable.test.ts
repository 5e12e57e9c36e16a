import { ActorSystem, Behavior, Durable, Protocol, Storage, type SystemEvent } from "@troupe/runtime"
import { Deferred, Effect, Exit, Fiber, Option, Schema, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { Counter, eventually, counter as plainCounter } from "../fixtures.ts"
import { type Database, databases, onStorage } from "./databases.ts"

/** The tests' counter, durable under `id`. */
const counter = (id: string) => Durable.persistent(plainCounter(), { id, state: Schema.Number })

/** Runs `effect` with an actor system on storage at `location` (the storage outlives the system). */
const storedState = (db: Database, location: string, id: string) =>
  Effect.runPromise(
    Storage.Storage.use((s) => s.state(id)).pipe(Effect.map(Option.getOrUndefined), Effect.provide(db.layer(location)))
  )

const spawnFailure = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected the spawn to fail")
  return String(exit.cause)
}

for (const db of databases()) {
  describe(`durable actors on ${db.name}`, () => {
    it("keeps its state across systems, and a reply comes after its state is committed", async () => {
      const location = await db.fresh()
      const replies = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(counter("c"), { name: "c" })
          for (let i = 0; i < 500; i++) yield* ref.tell(Counter.Add({ n: 1 }))
          const reply = yield* ref.ask(Counter.Get())
          // the reply acknowledged 500: it is in the database already, before the system stops
          const stored = yield* Storage.Storage.use((s) => s.state("c"))
          return { reply, stored: Option.getOrUndefined(stored)?.state }
        })
      )
      expect(replies).toEqual({ reply: 500, stored: 500 })
      const again = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(counter("c"), { name: "c" })
          yield* ref.tell(Counter.Add({ n: 2 }))
          return yield* ref.ask(Counter.Get())
        })
      )
      expect(again).toBe(502)
      expect((await storedState(db, location, "c"))?.revision).toBeGreaterThan(1)
    })

    it("writes its last state when it stops, even with no reply to wait for", async () => {
      const location = await db.fresh()
      await Effect.runPromise(
        Effect.gen(function* () {
          const handled = yield* Deferred.make<void>()
          const quiet = Durable.persistent(
            Behavior.make(Counter, {
              initial: 0,
              receive: {
                Add: (count, { n }) =>
                  count + n === 30 ? Effect.as(Deferred.succeed(handled, undefined), 30) : Effect.succeed(count + n),
                Get: (count) => Effect.succeed({ state: count, reply: count }),
                Fail: (count) => Effect.succeed(count)
              }
            }),
            { id: "quiet", state: Schema.Number }
          )
          const ref = yield* ActorSystem.spawn(quiet, { name: "quiet" })
          for (let i = 0; i < 10; i++) yield* ref.tell(Counter.Add({ n: 3 }))
          yield* Deferred.await(handled)
          // nothing was written yet (the batch waits an hour); stopping writes it
          expect(Option.isNone(yield* Storage.Storage.use((s) => s.state("quiet")))).toBe(true)
          yield* ActorSystem.stop(ref)
        }).pipe(Effect.provide(ActorSystem.layer()), Effect.provide(db.layer(location, { flushDelay: "1 hour" })))
      )
      expect((await storedState(db, location, "quiet"))?.state).toBe(30)
    })

    it("restarts from the committed state after a crash", async () => {
      const location = await db.fresh()
      const after = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(counter("r"), { name: "r", restart: "permanent" })
          yield* ref.tell(Counter.Add({ n: 7 }))
          yield* ref.ask(Counter.Get())
          yield* ref.tell(Counter.Fail({ reason: "boom" }))
          return yield* ref.ask(Counter.Get())
        })
      )
      expect(after).toBe(7)
    })

    it("refuses a second live actor with the same persistence id", async () => {
      const location = await db.fresh()
      const exit = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          yield* ActorSystem.spawn(counter("one"), { name: "a" })
          return yield* Effect.exit(ActorSystem.spawn(counter("one"), { name: "b" }))
        })
      )
      const text = spawnFailure(exit)
      expect(text).toContain("PersistenceIdInUse")
      expect(text).toContain("/user/a")
    })

    it("catches two instances in two systems writing one id, and the loser restarts from the winner's state", async () => {
      const location = await db.fresh()
      const result = await Effect.runPromise(
        Effect.gen(function* () {
          const a = yield* ActorSystem.make({ name: "a" })
          const b = yield* ActorSystem.make({ name: "b" })
          const refA = yield* a.spawn(counter("shared"), { name: "x", restart: "permanent" })
          const refB = yield* b.spawn(counter("shared"), { name: "x", restart: "permanent" })
          const failures = yield* b.subscribe
          const failed = yield* failures.pipe(
            Stream.filter((e): e is SystemEvent.Failed => e._tag === "Failed"),
            Stream.take(1),
            Stream.runCollect,
            Effect.forkChild
          )
          yield* refA.tell(Counter.Add({ n: 1 }))
          yield* refA.ask(Counter.Get())
          // B read nothing (revision 0) and A wrote first: B's first write conflicts and fails the ask
          yield* refB.tell(Counter.Add({ n: 100 }))
          const lost = yield* Effect.exit(refB.ask(Counter.Get()))
          const events = yield* Fiber.join(failed)
          // B was restarted from A's state, and its lost +100 is not in it
          yield* refB.tell(Counter.Add({ n: 5 }))
          const fromB = yield* Effect.exit(refB.ask(Counter.Get()))
          return { lost, fromB, events }
        }).pipe(Effect.scoped, Effect.provide(db.layer(location)))
      )
      expect(String(result.events[0]?.cause)).toContain("PersistenceConflict")
      expect(Exit.isFailure(result.lost) && String(result.lost.cause)).toContain("RequestFailed")
      expect(Exit.isSuccess(result.fromB) ? result.fromB.value : -1).toBe(6)
    })
  })

  describe(`schema evolution on ${db.name}`, () => {
    const V1 = Schema.Struct({ count: Schema.Number })
    const V2 = Schema.Struct({ count: Schema.Number, unit: Schema.String })
    const Box = Protocol.make("Box", { Get: Protocol.request({}, { success: Schema.String }) })
    const v1 = Durable.persistent(
      Behavior.make(Box, {
        initial: { count: 41 },
        receive: { Get: (s) => Effect.succeed({ state: { count: s.count + 1 }, reply: `${s.count + 1}` }) }
      }),
      { id: "box", state: V1 }
    )
    const v2 = (options: Partial<Durable.Options<typeof V2.Type, typeof V2.Encoded>>) =>
      Durable.persistent(
        Behavior.make(Box, {
          initial: { count: 0, unit: "none" },
          receive: { Get: (s) => Effect.succeed({ state: s, reply: `${s.count} ${s.unit}` }) }
        }),
        { id: "box", state: V2, version: 2, ...options }
      )
    const get = (behavior: typeof v1 | ReturnType<typeof v2>) =>
      Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(behavior as typeof v1, { name: "box" })
        return yield* ref.ask(Box.Get())
      })

    it("migrates a state saved by an older behaviour", async () => {
      const location = await db.fresh()
      expect(await onStorage(db, location, get(v1))).toBe("42")
      const migrated = v2({ migrations: { 1: (old) => ({ ...(old as object), unit: "apples" }) } })
      expect(await onStorage(db, location, get(migrated))).toBe("42 apples")
      const stored = await storedState(db, location, "box")
      expect(stored?.version).toBe(2)
      expect(stored?.state).toEqual({ count: 42, unit: "apples" })
    })

    it("refuses an older state with no migration, a newer one, and one that does not decode, naming the id and what to do", async () => {
      const location = await db.fresh()
      await onStorage(db, location, get(v1))
      const noMigration = spawnFailure(await onStorage(db, location, Effect.exit(get(v2({})))))
      expect(noMigration).toContain("StateVersionUnknown")
      expect(noMigration).toContain('"box"')
      expect(noMigration).toContain("migrations: { 1:")
      const undecodable = spawnFailure(
        await onStorage(db, location, Effect.exit(get(v2({ migrations: { 1: (old) => old } }))))
      )
      expect(undecodable).toContain("StateNotDecodable")
      expect(undecodable).toContain("unit")
      // a newer behaviour wrote version 2; the old one must not run on it
      await onStorage(db, location, get(v2({ migrations: { 1: (old) => ({ ...(old as object), unit: "x" }) } })))
      const newer = spawnFailure(await onStorage(db, location, Effect.exit(get(v1))))
      expect(newer).toContain("StateVersionUnknown")
      expect(newer).toContain("newer")
      // and the stored state is untouched by the refusals
      expect((await storedState(db, location, "box"))?.state).toEqual({ count: 42, unit: "x" })
    })

    it("refuses a state damaged in the database", async () => {
      const location = await db.fresh()
      await onStorage(db, location, get(v1))
      await Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`UPDATE troupe_snapshots SET state = ${"{not json"} WHERE persistence_id = 'box'`
        }).pipe(Effect.provide(db.client(location)))
      )
      const text = spawnFailure(await onStorage(db, location, Effect.exit(get(v1))))
      expect(text).toContain("StateNotDecodable")
      expect(text).toContain("not JSON")
    })
  })

  describe(`durable messages on ${db.name}`, () => {
    it("are handled once per id, and an ask sent again gets the first reply", async () => {
      const location = await db.fresh()
      const first = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(counter("d"), { name: "d" })
          for (let i = 0; i < 3; i++) yield* Durable.tell(ref, Counter.Add({ n: 10 }), { id: "add-10" })
          yield* Durable.tell(ref, Counter.Add({ n: 1 }), { id: "add-1" })
          return yield* Durable.ask(ref, Counter.Get(), { id: "get-1" })
        })
      )
      expect(first).toBe(11)
      const second = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(counter("d"), { name: "d" })
          yield* Durable.tell(ref, Counter.Add({ n: 10 }), { id: "add-10" })
          const again = yield* Durable.ask(ref, Counter.Get(), { id: "get-1" })
          const now = yield* Durable.ask(ref, Counter.Get(), { id: "get-2" })
          return { again, now }
        })
      )
      expect(second).toEqual({ again: 11, now: 11 })
    })

    it("wait in the inbox while the recipient is stopped, and are handled when it is back", async () => {
      const location = await db.fresh()
      const result = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const ref = yield* ActorSystem.spawn(counter("w"), { name: "w" })
          yield* ActorSystem.stop(ref)
          yield* Durable.tell(ref, Counter.Add({ n: 4 }), { id: "while-stopped" })
          const back = yield* ActorSystem.spawn(counter("w"), { name: "w" })
          yield* eventually(() => true)
          return yield* Durable.ask(back, Counter.Get())
        })
      )
      expect(result).toBe(4)
    })

    it("to an actor that is not durable fail with NotDurable", async () => {
      const location = await db.fresh()
      const exit = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const plain = yield* ActorSystem.spawn(
            Behavior.make(Counter, {
              initial: 0,
              receive: {
                Add: (c) => Effect.succeed(c),
                Get: (c) => Effect.succeed({ state: c, reply: c }),
                Fail: (c) => Effect.succeed(c)
              }
            })
          )
          return yield* Effect.exit(Durable.tell(plain, Counter.Add({ n: 1 })))
        })
      )
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("NotDurable")
    })
  })
}
