/**
 * The starter of sessions with sharded roles through a stall of the runner that coordinates them, on a runner process
 * and a real PostgreSQL server (started here). The runner is stopped (SIGSTOP) longer than the sessions' deadline, so
 * the starter gives up on their coordinators, then let go on (SIGCONT): what each handle answered is what storage
 * says, whatever the coordinator does once it runs again. Runs with `TROUPE_CLUSTER=1`.
 */
import { Cluster, DurableSession, type Storage } from "@troupe/runtime"
import { Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import type { Sharding } from "effect/cluster"
import { describe, expect, it } from "vitest"
import * as Postgres from "../durable/postgres.ts"
import { onceLog } from "./onceLog.ts"
import { postgresAndRunners, within } from "./processes.ts"
import { testSharding } from "./runner.ts"
import { batch } from "./sessionRoles.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
const SESSIONS = 4
const phase = (what: string) => console.log(`[${new Date().toISOString()}] ${what}`)
const { logs, startRunner, progress } = onceLog("troupe-session-stall-")

describe.skipIf(!enabled)("the starter of sessions with sharded roles through a stall of their runner", () => {
  const { runners, url } = postgresAndRunners()

  it("answers the stored end: a coordinator not reached for the deadline ends the session in storage too", async () => {
    runners.push(await startRunner(url(), "r1"))
    console.log(`runner logs in ${logs}`)
    const client = ManagedRuntime.make(
      Layer.orDie(Cluster.layerPostgres({ url: url(), clientOnly: true, shards: 30, ...testSharding }))
    )
    const run = <A, E>(effect: Effect.Effect<A, E, Sharding.Sharding | Storage.Storage>) => client.runPromise(effect)
    // many rounds: the sessions are in flight when the runner stops
    const sessions = batch(run, "s", SESSIONS, 200, { deadline: "5 seconds", stepTimeout: "5 seconds" })
    await within(progress(SESSIONS, "r1", "s"), 120_000, "r1 to run some of the sessions' moves")
    const r1 = runners[0]!
    r1.child.kill("SIGSTOP")
    phase("r1 stopped")
    // only the starter's deadline ends a wait while the coordinators' runner is stopped
    const outcomes = await within(sessions, 120_000, "every handle to answer while r1 is stopped")
    r1.child.kill("SIGCONT")
    phase(`r1 let go on; handles: ${JSON.stringify(outcomes.map(([id, exit]) => [id, Exit.isSuccess(exit)]))}`)
    // the stall hit sessions in flight: their starter did not reach their coordinator for the deadline
    const lost = outcomes.filter(([, exit]) => {
      const error = Exit.isFailure(exit) ? Exit.findErrorOption(exit) : undefined
      const cause = error?._tag === "Some" ? (error.value as { cause?: { _tag?: string; role?: string } }).cause : {}
      return cause?._tag === "SessionNodeLost" && cause.role === "coordinator"
    })
    expect(lost.length).toBeGreaterThan(0)
    // once the runner runs again, its coordinators go on (or learn the end): each session's stored end is the one
    // its handle answered
    for (const [id, exit] of outcomes) {
      const stored = await within(
        run(
          Effect.gen(function* () {
            for (;;) {
              const outcome = yield* DurableSession.outcome(id)
              if (Option.isSome(outcome) && outcome.value._tag !== "Running") return outcome.value
              yield* Effect.sleep("200 millis")
            }
          })
        ),
        120_000,
        `the stored end of ${id}`
      )
      if (Exit.isSuccess(exit)) expect(stored).toEqual({ _tag: "Completed", results: exit.value.results })
      else {
        const error = Exit.findErrorOption(exit)
        expect(stored._tag).toBe("Aborted")
        expect(error._tag === "Some" && (error.value as { cause?: unknown }).cause).toEqual(
          stored._tag === "Aborted" ? stored.cause : undefined
        )
      }
    }
    await client.dispose()
  }, 300_000)
})
