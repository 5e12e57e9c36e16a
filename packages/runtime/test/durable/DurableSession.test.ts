import {
  ActorSystem,
  type Behavior,
  Desk,
  DurableSession,
  HumanRole,
  type Protocol,
  Session,
  Storage
} from "@troupe/runtime"
import { Cause, Deferred, type Duration, Effect, Exit, Option, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { sessionStore } from "../../src/durable/internal/sessionStore.ts"
import { type Database, databases } from "./databases.ts"
import { auditor, bank, client, type Effect_, Ledger } from "./ledger.ts"

const onStorage = <A, E>(
  db: Database,
  location: string,
  effect: Effect.Effect<A, E, ActorSystem.ActorSystem | Storage.Storage>,
  node = "ledger"
) =>
  Effect.runPromise(effect.pipe(Effect.provide(ActorSystem.layer({ name: node })), Effect.provide(db.layer(location))))

const none: Effect_ = () => Effect.void

/** Records each once effect of the bank and the auditor as `session/role/n`, in the order they run. */
const recorder = () => {
  const effects: Array<string> = []
  const record: Effect_ = (session, role, n) => Effect.sync(() => effects.push(`${session}/${role}/${n}`))
  return { effects, record }
}

/** Spawns the ledger's participants: `c` as C, the bank as B and the auditor as A, both running `record`. */
const spawnLedger = <P extends Protocol.Any, S>(c: Behavior.Behavior<P, S>, record: Effect_ = none) =>
  Effect.gen(function* () {
    const C = yield* ActorSystem.spawn(c, { name: "C" })
    const B = yield* ActorSystem.spawn(bank(record), { name: "B" })
    const A = yield* ActorSystem.spawn(auditor(record), { name: "A" })
    return { C, B, A }
  })

/**
 * A first "process": a ledger session of 40 deposits starts under `id`, and its node shuts down once `after`
 * once effects have run (mid-way); resolves with how many had run by then.
 */
const startThenStop = (
  db: Database,
  location: string,
  id: string,
  deadline: Duration.Input,
  { effects, record }: ReturnType<typeof recorder>,
  after: number
) =>
  onStorage(
    db,
    location,
    Effect.gen(function* () {
      const system = yield* ActorSystem.ActorSystem
      const roles = yield* spawnLedger(
        client(() => 40),
        record
      )
      yield* DurableSession.start(Ledger, { roles, id, deadline })
      while (effects.length < after) yield* Effect.sleep("1 millis")
      yield* system.shutdown
      return effects.length
    })
  )

/** Runs a ledger session of `rounds` deposits to its end, under `id`. */
const runLedger = (db: Database, location: string, id: string, rounds: number) =>
  onStorage(
    db,
    location,
    Effect.gen(function* () {
      const roles = yield* spawnLedger(client(() => rounds))
      return yield* DurableSession.run(Ledger, { roles, id })
    })
  )

/** Runs a statement on the database itself (to damage or rewind what is stored). */
const onDatabase = (
  db: Database,
  location: string,
  statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>
) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* statement(yield* SqlClient.SqlClient)
    }).pipe(Effect.provide(db.client(location)))
  )

for (const db of databases()) {
  describe(`durable sessions on ${db.name}`, () => {
    it("complete, with their outcome stored, each once effect run once", async () => {
      const location = await db.fresh()
      const { effects, record } = recorder()
      const done = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const roles = yield* spawnLedger(
            client(() => 5),
            record
          )
          const completed = yield* DurableSession.run(Ledger, { roles, id: "s1", deadline: "5 seconds" })
          const stored = yield* DurableSession.outcome("s1")
          return { completed, stored: Option.getOrUndefined(stored) }
        })
      )
      expect(done.completed.results).toEqual({ C: 15, B: 15, A: 5 })
      expect(done.stored).toEqual({ _tag: "Completed", results: { C: 15, B: 15, A: 5 } })
      expect(effects.filter((e) => e.includes("/B/")).length).toBe(5)
      expect(effects.filter((e) => e.includes("/A/")).length).toBe(5)
    })

    it("resume after their node is gone and back: the roles replay the log, nothing runs twice", async () => {
      const location = await db.fresh()
      const recording = recorder()
      const { effects, record } = recording
      // a first "process": the session starts, runs some rounds, and its node is shut down mid-way
      const started = await startThenStop(db, location, "s2", "10 seconds", recording, 20)
      expect(started).toBeGreaterThanOrEqual(20)
      expect(Option.getOrUndefined(await onStorage(db, location, DurableSession.outcome("s2")))?._tag).toBe("Running")
      // a second "process" on the same storage: the participants again, then the coordinator from the storage
      const resumed = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          yield* spawnLedger(
            client(() => 40),
            record
          )
          const [handle] = yield* DurableSession.recover([Ledger])
          return yield* Effect.exit(handle!.await)
        })
      )
      expect(Exit.isSuccess(resumed) ? resumed.value.results : resumed).toEqual({ C: 820, B: 820, A: 40 })
      // every once effect ran once, across both processes
      const counts = new Map<string, number>()
      for (const e of effects) counts.set(e, (counts.get(e) ?? 0) + 1)
      expect([...counts.values()].filter((n) => n !== 1)).toEqual([])
      expect(counts.size).toBe(80)
    })

    it("resume a role played by a person without asking again the moves the person made", async () => {
      const location = await db.fresh()
      const person = Session.role(Ledger, "C", HumanRole.play({ who: "Cy" }))
      /** Answers the desk's questions with `answers` (in order); `asked` gets each question's state and move count. */
      const answering = (answers: ReadonlyArray<unknown>, asked: Array<number>, after?: Effect.Effect<void>) =>
        Effect.gen(function* () {
          const desk = Desk.of(yield* ActorSystem.ActorSystem)
          const changes = yield* desk.changes
          yield* Effect.forkScoped(
            Stream.runForEach(changes, (change) => {
              if (change._tag !== "Asked") return Effect.void
              const n = asked.push((change.question.detail as { received: ReadonlyArray<unknown> }).received.length)
              const answer = answers[n - 1]
              return answer === undefined ? (after ?? Effect.void) : desk.answer(change.question.id, answer, "cy")
            })
          )
        })
      // the first "process": the person makes two deposits; at the third question the node goes down
      const first: Array<number> = []
      await onStorage(
        db,
        location,
        Effect.scoped(
          Effect.gen(function* () {
            const system = yield* ActorSystem.ActorSystem
            const down = yield* Deferred.make<void>()
            yield* answering(
              [
                { label: "deposit", payload: 1 },
                { label: "deposit", payload: 2 }
              ],
              first,
              Effect.asVoid(Deferred.succeed(down, undefined))
            )
            const roles = yield* spawnLedger(person)
            yield* DurableSession.start(Ledger, { roles, id: "p1", deadline: "10 seconds" })
            yield* Deferred.await(down)
            yield* system.shutdown
          })
        )
      )
      // two moves made (after 0 and 1 receipts), the third asked (after 2)
      expect(first).toEqual([0, 1, 2])
      // the second: the person is asked only the move not made yet, and closes
      const second: Array<number> = []
      const done = await onStorage(
        db,
        location,
        Effect.scoped(
          Effect.gen(function* () {
            yield* answering([{ label: "close" }], second)
            yield* spawnLedger(person)
            const [handle] = yield* DurableSession.recover([Ledger])
            return yield* handle!.await
          })
        )
      )
      expect(second).toEqual([2])
      const c = done.results.C as HumanRole.Result
      expect(c.sent.map((m) => `${m.label}(${m.payload}) by ${m.by}`)).toEqual([
        "deposit(1) by cy",
        "deposit(2) by cy",
        "close(null) by cy"
      ])
      expect({ B: done.results.B, A: done.results.A }).toEqual({ B: 3, A: 2 })
    })

    it("end when every role had completed before the coordinator's node went down", async () => {
      const location = await db.fresh()
      await runLedger(db, location, "s3", 3)
      // as if the node had died after the roles' results were committed, before the end was
      await onDatabase(
        db,
        location,
        (sql) => sql`UPDATE troupe_sessions SET status = 'running', outcome = NULL WHERE session = 's3'`
      )
      const done = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          const [handle] = yield* DurableSession.recover([Ledger])
          return yield* handle!.await
        })
      )
      expect(done.results).toEqual({ C: 6, B: 6, A: 3 })
    })

    it("refuse a session damaged in the database, typed, naming the session and what is wrong", async () => {
      const location = await db.fresh()
      await runLedger(db, location, "s5", 1)
      const damage = (statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
        onDatabase(db, location, statement)
      const failure = async <A>(effect: Effect.Effect<A, unknown, ActorSystem.ActorSystem | Storage.Storage>) => {
        const exit = await onStorage(db, location, Effect.exit(effect))
        return Exit.isFailure(exit) ? Cause.squash(exit.cause) : exit.value
      }
      // an outcome whose cause is not an abort cause
      await damage(
        (sql) =>
          sql`UPDATE troupe_sessions SET status = 'aborted', outcome = ${'{"cause":{"_tag":"Nope"}}'} WHERE session = 's5'`
      )
      const outcome = await failure(DurableSession.outcome("s5"))
      expect(outcome).toMatchObject({ _tag: "StorageCorrupt" })
      expect(String((outcome as Error).message)).toContain('the outcome of the durable session "s5" does not decode')
      // a spec that is not JSON, and one that lacks a field
      await damage(
        (sql) => sql`UPDATE troupe_sessions SET status = 'running', spec = ${"{not json"} WHERE session = 's5'`
      )
      const text = await failure(DurableSession.recover([Ledger]))
      expect(text).toMatchObject({ _tag: "StorageCorrupt" })
      expect(String((text as Error).message)).toContain('the spec of the durable session "s5" does not decode')
      await damage((sql) => sql`UPDATE troupe_sessions SET spec = ${'{"roles":{}}'} WHERE session = 's5'`)
      const field = await failure(DurableSession.recover([Ledger]))
      expect(String((field as Error).message)).toMatch(
        /the spec of the durable session "s5" does not decode.*stepTimeoutMillis/s
      )
      // a chunk of the log that is not a list of [number, label, payload]
      await damage(
        (sql) =>
          sql`UPDATE troupe_session_log SET payload = ${'[[1,"deposit"]]'} WHERE session = 's5' AND kind = 'send'`
      )
      const log = await failure(
        Effect.flatMap(Storage.Storage, (storage) => {
          const { sql, writer, failed } = Storage.internal(storage)
          return sessionStore(sql, writer, failed).role("s5", "B")
        })
      )
      expect(log).toMatchObject({ _tag: "StorageCorrupt" })
      expect(String((log as Error).message)).toMatch(
        /the log of \w+ to \w+ \(from message \d+\) in the durable session "s5" does not decode \(message 0 is not \[number, label, payload\]\)/
      )
    })

    it("fail for every participant, typed, when a role's node is not back within the deadline", async () => {
      const location = await db.fresh()
      const recording = recorder()
      const { record } = recording
      await startThenStop(db, location, "s4", "300 millis", recording, 10)
      // the node comes back without the bank
      const aborted = await onStorage(
        db,
        location,
        Effect.gen(function* () {
          yield* ActorSystem.spawn(
            client(() => 40),
            { name: "C" }
          )
          yield* ActorSystem.spawn(auditor(record), { name: "A" })
          const [handle] = yield* DurableSession.recover([Ledger])
          const exit = yield* Effect.exit(handle!.await)
          return { exit, stored: yield* DurableSession.outcome("s4") }
        })
      )
      const error = Exit.isFailure(aborted.exit) ? Cause.squash(aborted.exit.cause) : undefined
      expect(error).toMatchObject({ _tag: "SessionAborted", cause: { _tag: "SessionNodeLost", role: "B" } })
      expect(String((error as Error).message)).toContain("longer than the session's deadline")
      expect(Option.getOrUndefined(aborted.stored)).toMatchObject({
        _tag: "Aborted",
        cause: { _tag: "SessionNodeLost", role: "B" }
      })
    })
  })
}
