/**
 * How a durable session's coordinator joins its roles, on SQLite: at the begin each role is asked once more (the
 * Join that says the session began), and no role's peers are asked to send it again unless it resumed from the log;
 * and a role that aborted the session does not resume it when a coordinator started again (before it stored the end)
 * joins it: it answers with its abort, and the session ends with that cause. A role that resumes a session whose log
 * holds nothing for it yet (it had not been sent anything) publishes `SessionResumed` as one that replays does.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  ActorSystem,
  type Behavior,
  DurableSession,
  type Endpoint,
  type Protocol,
  Session,
  Storage
} from "@troupe/runtime"
import { Deferred, Effect, Exit, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, describe, expect, it } from "vitest"
import { auditor, bank, client, Ledger } from "./ledger.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-session-rejoin-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `effect` on a node named "ledger" over the SQLite storage at `filename` (one "process"). */
const onStorage = <A, E>(filename: string, effect: Effect.Effect<A, E, ActorSystem.ActorSystem | Storage.Storage>) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(ActorSystem.layer({ name: "ledger" })),
      Effect.provide(Storage.layerSqlite({ filename }))
    )
  )

interface JoinSeen {
  readonly role: string
  readonly begun: boolean | undefined
  readonly resendTo: string | undefined
}

/** `behavior`, with every Join it receives noted in `joins` (as `role`). */
const noting = <P extends Protocol.Any, S>(
  role: string,
  behavior: Behavior.Behavior<P, S>,
  joins: Array<JoinSeen>
): Behavior.Behavior<P, S> => {
  const handlers = behavior.receive as unknown as Record<string, (...args: ReadonlyArray<unknown>) => unknown>
  return {
    ...behavior,
    receive: {
      ...handlers,
      Join: (state: S, m: { durable?: { begun: boolean; resendTo?: string } }, ctx: unknown) => {
        joins.push({ role, begun: m.durable?.begun, resendTo: m.durable?.resendTo })
        return handlers.Join!(state, m, ctx)
      }
    } as unknown as Behavior.Behavior<P, S>["receive"]
  }
}

const none = () => Effect.void

describe("a durable session's coordinator joining its roles (SQLite)", () => {
  it("asks each role to join, then to begin: no peer is asked to send again when no role resumed", async () => {
    const joins: Array<JoinSeen> = []
    const done = await onStorage(
      join(dir, "begin.sqlite"),
      Effect.gen(function* () {
        const roles = {
          C: yield* ActorSystem.spawn(
            noting(
              "C",
              client(() => 3),
              joins
            ),
            { name: "C" }
          ),
          B: yield* ActorSystem.spawn(noting("B", bank(none), joins), { name: "B" }),
          A: yield* ActorSystem.spawn(noting("A", auditor(none), joins), { name: "A" })
        }
        return yield* DurableSession.run(Ledger, { roles, id: "begin-3" })
      })
    )
    expect(done.results).toEqual({ C: 6, B: 6, A: 3 })
    // 2 asks per role (the join, and the Join that says the session began); the begin once made every role's peers
    // send it again what they sent it (before the roles had sent anything): 3 x 2 more
    expect(joins.filter((j) => j.resendTo !== undefined)).toEqual([])
    expect(joins.map((j) => `${j.role}:${j.begun}`).sort()).toEqual([
      "A:false",
      "A:true",
      "B:false",
      "B:true",
      "C:false",
      "C:true"
    ])
  })

  it("a role that aborted answers a coordinator started again with its abort: it does not resume the session", async () => {
    const filename = join(dir, "aborted.sqlite")
    /** How many times the client's program ran; its first run fails at its third deposit. */
    let runs = 0
    const flaky = Session.role(Ledger, "C", (typed) => {
      const first = ++runs === 1
      return Effect.gen(function* () {
        let ep = typed as unknown as Endpoint.UntypedEndpoint<Session.Failure>
        let total = 0
        for (let i = 1; i <= 5; i++) {
          if (i === 3 && first) return yield* Effect.die(new Error("the client's first run fails at deposit 3"))
          const receipt = yield* (yield* ep.send("B", "deposit", i)).receive()
          total = receipt.payload as number
          ep = receipt.next
        }
        yield* ep.send("B", "close")
        return total
      })
    })
    const spawnAll = Effect.gen(function* () {
      return {
        C: yield* ActorSystem.spawn(flaky, { name: "C" }),
        B: yield* ActorSystem.spawn(bank(none), { name: "B" }),
        A: yield* ActorSystem.spawn(auditor(none), { name: "A" })
      }
    })
    // a first "process": the client fails, and the session is aborted with its failure
    const first = await onStorage(
      filename,
      Effect.flatMap(spawnAll, (roles) => Effect.flip(DurableSession.run(Ledger, { roles, id: "flaky-5" })))
    )
    expect(first._tag === "SessionAborted" && first.cause).toMatchObject({ _tag: "ParticipantFailed", role: "C" })
    expect(runs).toBe(1)
    // as if the coordinator's node had died after the client's abort reached it, before it stored the end
    await Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE troupe_sessions SET status = 'running', outcome = NULL WHERE session = 'flaky-5'`
      }).pipe(Effect.provide(Storage.sqliteClient({ filename })))
    )
    // a second "process": the participants again, then the coordinator from the storage; the client, which does not
    // hold the session, reads its log: it aborted, so it answers with its abort instead of resuming (its program
    // would complete now)
    const second = await onStorage(
      filename,
      Effect.gen(function* () {
        yield* spawnAll
        const [handle] = yield* DurableSession.recover([Ledger])
        return yield* Effect.exit(handle!.await)
      })
    )
    expect(Exit.isFailure(second)).toBe(true)
    const error = Exit.isFailure(second) ? Exit.findErrorOption(second) : undefined
    expect(error?._tag === "Some" && (error.value as { cause?: unknown }).cause).toMatchObject({
      _tag: "ParticipantFailed",
      role: "C"
    })
    expect(runs).toBe(1)
  })

  it("a role that resumes a session from an empty log says so (SessionResumed), as one that replays does", async () => {
    const filename = join(dir, "empty.sqlite")
    /** The client's program in the first "process": it waits for ever before its first deposit. */
    const started = Deferred.makeUnsafe<void>()
    const stuck = Session.role(Ledger, "C", () =>
      Effect.andThen(Deferred.succeed(started, undefined), Effect.never)
    ) as unknown as ReturnType<typeof client<never>>
    const spawnAll = (c: ReturnType<typeof client<never>>) =>
      Effect.gen(function* () {
        return {
          C: yield* ActorSystem.spawn(c, { name: "C" }),
          B: yield* ActorSystem.spawn(bank(none), { name: "B" }),
          A: yield* ActorSystem.spawn(auditor(none), { name: "A" })
        }
      })
    // a first "process": the session begins, and the process ends before any role sent anything
    await onStorage(
      filename,
      Effect.gen(function* () {
        yield* DurableSession.start(Ledger, { roles: yield* spawnAll(stuck), id: "empty-2" })
        yield* Deferred.await(started)
      })
    )
    // a second "process": each role joined by the coordinator started again resumes from its (empty) log
    const { done, resumed } = await onStorage(
      filename,
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const resumed: Array<string> = []
        const events = yield* system.subscribe
        yield* Effect.forkScoped(
          Stream.runForEach(events, (e) =>
            Effect.sync(() => {
              if (e._tag !== "SessionResumed") return
              const { role, state } = e as unknown as { readonly role: string; readonly state: number }
              resumed.push(`${role}@${state}`)
            })
          )
        )
        yield* spawnAll(client(() => 2))
        const [handle] = yield* DurableSession.recover([Ledger])
        return { done: yield* handle!.await, resumed }
      }).pipe(Effect.scoped)
    )
    expect(done.results).toEqual({ C: 3, B: 3, A: 2 })
    expect(resumed.sort()).toEqual(["A@0", "B@0", "C@0"])
  })
})
