/**
 * Sessions with sharded roles on one SQLite runner whose roles are passivated mid-session (see `ShardedSession.test.ts`):
 * they resume from the session's durable log without doing a move twice, a waiting role's step counts anew when a
 * peer resumes, and a role that cannot be activated again ends the session at its deadline.
 */
import { ActorSystem, Sharded, ShardedSession } from "@troupe/runtime"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Entity from "../../src/durable/Entity.ts"
import { bank, client, Ledger } from "../durable/ledger.ts"
import { Auditors, Clients, IdleAuditors, IdleBanks, ranOnce, record, runSqlite } from "./ledgerRunner.ts"

/** Banks passivated after 100 ms idle, whose actors cannot start again once passivated. */
let fragileStarts = 0
const FragileBanks = Sharded.make("LedgerFragileBank", {
  behavior: () => {
    const behavior = bank(record)
    return {
      ...behavior,
      init: (ctx: Parameters<NonNullable<typeof behavior.init>>[0]) =>
        fragileStarts++ === 0 ? behavior.init!(ctx) : Effect.die(new Error("this bank cannot start again"))
    }
  },
  passivateAfter: "100 millis"
})

/**
 * A client that thinks before its third deposit until the bank's and the auditor's actors are passivated (their
 * sessions gone from memory): the session completes only if they resume from the log.
 */
const Thinkers = Sharded.make("LedgerThinker", {
  behavior: () =>
    client(() => 4, {
      deposit: 3,
      wait: (ctx) =>
        ctx.once(
          Effect.gen(function* () {
            while (
              (yield* Sharded.active(IdleBanks)) +
                (yield* Sharded.active(FragileBanks)) +
                (yield* Sharded.active(IdleAuditors)) >
              0
            )
              yield* Effect.sleep("20 millis")
          })
        )
    })
})

/** The runner's actor system, for a bank's `once` to passivate an auditor (see `SlowBanks`). */
let runnerSystem: ActorSystem.ActorSystemService | undefined

/**
 * Banks whose second deposit takes 2.5 s, during which the session's auditor is passivated (after 1 s): its lease
 * finds it gone, it resumes from the log, and its peers are asked to send it again what they sent it. The client
 * meanwhile waits for its receipt longer than its 2 s step deadline, though never 2 s since the recovery.
 */
const SlowBanks = Sharded.make("LedgerSlowBank", {
  behavior: () =>
    bank((session, role, n) =>
      n !== 2
        ? record(session, role, n)
        : Effect.gen(function* () {
            yield* Effect.sleep("1 second")
            yield* Entity.passivate(Auditors.kind, `a-${session}`).pipe(
              Effect.provideService(ActorSystem.ActorSystem, runnerSystem!)
            )
            yield* Effect.sleep("1500 millis")
            yield* record(session, role, n)
          })
    )
})

/** Runs `effect` on a SQLite runner of its own, on a fresh file. */
const run = runSqlite([Clients, Auditors, IdleBanks, IdleAuditors, FragileBanks, SlowBanks, Thinkers])

describe("sessions with sharded roles passivated mid-session (one SQLite runner)", () => {
  it("resume roles passivated mid-session from the log: no move done twice", async () => {
    const done = await run(
      Effect.gen(function* () {
        const roles = {
          C: yield* Sharded.ref(Thinkers, "c-think"),
          B: yield* Sharded.ref(IdleBanks, "b-think"),
          A: yield* Sharded.ref(IdleAuditors, "a-think")
        }
        return yield* ShardedSession.run(Ledger, { roles, id: "think-4", deadline: "5 seconds" })
      })
    )
    expect(done.results).toEqual({ C: 10, B: 10, A: 4 })
    expect(ranOnce("think-4")).toEqual({ runs: 8, distinct: 8 })
  })

  it("count a waiting role's step anew when a peer resumes: a recovery longer than the step deadline completes", async () => {
    const done = await run(
      Effect.gen(function* () {
        runnerSystem = yield* ActorSystem.ActorSystem
        const roles = {
          C: yield* Sharded.ref(Clients, "c-slow-2"),
          B: yield* Sharded.ref(SlowBanks, "b-slow-2"),
          A: yield* Sharded.ref(Auditors, "a-slow-2")
        }
        // (a 2 s deadline: the lease asks every 200 ms)
        return yield* ShardedSession.run(Ledger, {
          roles,
          id: "slow-2",
          deadline: "2 seconds",
          stepTimeout: "2 seconds"
        })
      })
    )
    expect(done.results).toEqual({ C: 3, B: 3, A: 2 })
    expect(ranOnce("slow-2")).toEqual({ runs: 4, distinct: 4 })
  })

  it("abort, typed, when a role cannot be reached again within the deadline", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const roles = {
          C: yield* Sharded.ref(Thinkers, "c-fragile"),
          B: yield* Sharded.ref(FragileBanks, "b-fragile"),
          A: yield* Sharded.ref(Auditors, "a-fragile")
        }
        // (a 3 s deadline: the lease asks every 300 ms, so the bank is idle long enough to be passivated)
        return yield* Effect.flip(ShardedSession.run(Ledger, { roles, id: "fragile-4", deadline: "3 seconds" }))
      })
    )
    expect(exit._tag === "SessionAborted" && exit.cause).toMatchObject({ _tag: "SessionNodeLost", role: "B" })
  })
})
