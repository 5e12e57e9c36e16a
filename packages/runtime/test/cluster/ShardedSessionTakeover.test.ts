/**
 * Sessions with sharded roles through a SIGKILL takeover, on two runner processes and a real PostgreSQL server
 * (started here). A killed runner's shards go to the other runner only once its shard lock expired (30 s here, as in
 * production), longer than a role's step deadline: a role waiting on a peer that was on the killed runner (or on a
 * coordinator that was) must not time out meanwhile, and a peer that is not back within the session's deadline ends
 * the session with `SessionNodeLost`, not with a step's `StepTimeout`. Runs with `TROUPE_CLUSTER=1`.
 */
import { Cluster, type Storage } from "@troupe/runtime"
import { Cause, type Duration, Exit, Layer, ManagedRuntime } from "effect"
import type { Sharding } from "effect/cluster"
import { describe, expect, it } from "vitest"
import * as Postgres from "../durable/postgres.ts"
import { onceLog } from "./onceLog.ts"
import { postgresAndRunners, type Runner } from "./processes.ts"
import { testSharding } from "./runner.ts"
import { batch, roundsOf } from "./sessionRoles.ts"
import { shardsHeld } from "./shardLocks.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
const SESSIONS = 8
const ROUNDS = 40
const phase = (what: string) => console.log(`[${new Date().toISOString()}] ${what}`)
const { logs, onces, startRunner, progress, movedFrom } = onceLog("troupe-session-takeover-")

/** Why each session that did not complete failed: the abort cause's tag. */
const failures = (outcomes: ReadonlyArray<readonly [string, Exit.Exit<unknown, unknown>]>) =>
  outcomes.flatMap(([id, exit]) => {
    if (Exit.isSuccess(exit)) return []
    const error = Exit.findErrorOption(exit)
    const cause =
      error._tag === "Some" ? (error.value as { cause?: { _tag?: string; role?: string } }).cause : undefined
    if (cause?._tag === undefined) console.log(id, Cause.pretty(exit.cause))
    return [{ id, cause: cause?._tag, role: cause?.role }]
  })

describe.skipIf(!enabled)("sessions with sharded roles through a SIGKILL takeover (two runners on PostgreSQL)", () => {
  const { runners, url } = postgresAndRunners()
  type Client = ManagedRuntime.ManagedRuntime<Sharding.Sharding | Storage.Storage, never>
  let client: Client | undefined

  /** Starts sessions `<batch>-<i>-<ROUNDS>` and answers each one's outcome when it ends. */
  const sessions = (name: string, deadline: Duration.Input, stepTimeout: Duration.Input) => {
    client ??= ManagedRuntime.make(
      Layer.orDie(Cluster.layerPostgres({ url: url(), clientOnly: true, shards: 30, ...testSharding }))
    )
    return batch(client.runPromise, name, SESSIONS, ROUNDS, { deadline, stepTimeout })
  }

  /** Kills `runner` with SIGKILL once it ran `count` effects of `batch`; answers where `onces` was then. */
  const killWhenBusy = async (runner: Runner, count: number, batch: string) => {
    await progress(count, runner.name, batch)
    runner.child.kill("SIGKILL")
    await runner.exited
    phase(`${runner.name} killed`)
    return onces.length
  }

  it("complete when a peer's runner is killed mid-session: waits on it outlast the step deadline, counted only while every role is reachable", async () => {
    for (const name of ["r1", "r2"]) runners.push(await startRunner(url(), name))
    console.log(`runner logs in ${logs}`)
    // step deadline 15 s < the 20-30 s after a kill that its runner's shard lock takes to expire (30 s after its last
    // refresh, every 10 s); deadline 120 s. (8 s failed at load 28 beside ShardedSessions.test: a peer that resumed
    // took 10 s to replay its log and send, and its resumption starts the step anew)
    const batch = sessions("k", "120 seconds", "15 seconds")
    const killedAt = await killWhenBusy(runners[1]!, SESSIONS, "k")
    const since = Date.now()
    const outcomes = await batch
    phase(`batch k ended ${Date.now() - since} ms after the kill; failures: ${JSON.stringify(failures(outcomes))}`)
    expect(failures(outcomes)).toEqual([])
    for (const [id, exit] of outcomes) {
      const n = roundsOf(id)
      expect(Exit.isSuccess(exit) && exit.value.results).toEqual({ C: (n * (n + 1)) / 2, B: (n * (n + 1)) / 2, A: n })
    }
    // the kill hit sessions in flight: roles that ran effects on r2 went on on r1, after the shard lock expired (their
    // peers waited on them longer than the step deadline)
    const moved = movedFrom("r2", "k", killedAt)
    phase(`batch k: ${moved.length} roles moved from r2 to r1`)
    expect(moved.length).toBeGreaterThan(0)
    expect(Date.now() - since).toBeGreaterThan(15_000)
  }, 300_000)

  it("fail with SessionNodeLost, not StepTimeout, when a killed runner's roles are not back within the deadline", async () => {
    if (runners.length === 0) runners.push(await startRunner(url(), "r1"))
    const r3 = await startRunner(url(), "r3")
    runners.push(r3)
    // r3 is killed while it runs roles: the batch starts once r3 holds its share of the shards. (It once started as r3
    // joined, before r1 had let r3's shards go: on a quiet host r1 ran every role of the batch and the wait for r3's
    // progress never ended.)
    const holders = await shardsHeld(url(), 2, 10)
    phase(`r3 holds its shards: locks per runner ${JSON.stringify(holders)}`)
    // deadline 16 s < the 20-30 s after a kill that its runner's shard lock takes to expire; step deadline 12 s (4 s
    // failed at load 28: a step took longer before the kill)
    const batch = sessions("n", "16 seconds", "12 seconds")
    // r3 runs part of the batch's roles: it reaches the count long before the batch could end (a clear failure if not)
    expect(await Promise.race([killWhenBusy(r3, SESSIONS, "n").then(() => "killed"), batch.then(() => "ended")])).toBe(
      "killed"
    )
    const outcomes = await batch
    const failed = failures(outcomes)
    phase(`batch n: failures ${JSON.stringify(failed)}`)
    // a session with a role still in flight on r3 ends with SessionNodeLost, never a step's StepTimeout; on a fast
    // host every role r3 held may have ended before the kill (seen on a quiet fresh-clone run): then each session
    // completed, with nothing lost
    expect(failed.filter((f) => f.cause !== "SessionNodeLost")).toEqual([])
    if (failed.length === 0) {
      for (const [id, exit] of outcomes) {
        const n = roundsOf(id)
        expect(Exit.isSuccess(exit) && exit.value.results).toEqual({ C: (n * (n + 1)) / 2, B: (n * (n + 1)) / 2, A: n })
      }
    }
    await client?.dispose()
  }, 300_000)
})
