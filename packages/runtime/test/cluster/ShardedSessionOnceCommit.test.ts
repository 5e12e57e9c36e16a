/**
 * A role's `once` effect ran, and its result's commit waits behind a slow write batch, when the role's actor is
 * stopped (its shard moves, or it is passivated): its next incarnation must read the result from the log, not run the
 * effect again. Seen in the multi-runner test under load: a bank's effect ran twice on a runner that never stopped
 * (its actors were stopped by a shard handoff while the commit was queued, and activated there again).
 */
import { ActorSystem, Sharded, ShardedSession, Storage } from "@troupe/runtime"
import { Deferred, Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Entity from "../../src/durable/Entity.ts"
import { bank, completed, Ledger } from "../durable/ledger.ts"
import { Auditors, Clients, ranOnce, record, runSqlite } from "./ledgerRunner.ts"

/** Whether a bank's second effect was slowed already (the first time only). */
let slowed = false

/** The runner's actor system and storage (set by the test). */
let runner:
  | { readonly system: ActorSystem.ActorSystemService; readonly storage: Storage.Storage["Service"] }
  | undefined

/**
 * Banks whose second effect, once run, has the storage's writer busy with a batch of 1.5 s (its result's commit
 * waits for the next one), and is passivated 200 ms later, while that commit waits.
 */
const SlowCommitBanks = Sharded.make("LedgerSlowCommitBank", {
  behavior: () =>
    bank((session, role, n) =>
      n !== 2 || slowed
        ? record(session, role, n)
        : Effect.gen(function* () {
            slowed = true
            yield* record(session, role, n)
            const { system, storage } = runner!
            const opened = yield* Deferred.make<void>()
            Effect.runFork(
              Storage.internal(storage).writer.run(() =>
                Effect.andThen(Deferred.succeed(opened, undefined), Effect.sleep("1500 millis"))
              )
            )
            yield* Deferred.await(opened)
            Effect.runFork(
              Effect.andThen(
                Effect.sleep("200 millis"),
                Entity.passivate(SlowCommitBanks.kind, `b-${session}`).pipe(
                  Effect.provideService(ActorSystem.ActorSystem, system)
                )
              )
            )
          })
    )
})

const run = runSqlite([Clients, SlowCommitBanks, Auditors])

describe("a session with sharded roles whose role is stopped while a `once` result's commit waits", () => {
  it("run the effect once: the next incarnation reads its result from the log", async () => {
    const id = "commit-3"
    const done = await run(
      Effect.gen(function* () {
        runner = { system: yield* ActorSystem.ActorSystem, storage: yield* Storage.Storage }
        const roles = {
          C: yield* Sharded.ref(Clients, `c-${id}`),
          B: yield* Sharded.ref(SlowCommitBanks, `b-${id}`),
          A: yield* Sharded.ref(Auditors, `a-${id}`)
        }
        return yield* ShardedSession.run(Ledger, { roles, id, deadline: "10 seconds" })
      })
    )
    expect(done.results).toEqual(completed(3))
    // before: { runs: 7, distinct: 6 } (the bank's second effect ran again in its next incarnation)
    expect(ranOnce(id)).toEqual({ runs: 6, distinct: 6 })
  }, 30_000)
})
