/**
 * Three runner processes on a real PostgreSQL server (started here): 10,000 sharded ledgers under traffic,
 * SIGKILL of one runner mid-traffic, then a rolling restart of all three. Every message the cluster accepted
 * is recorded exactly once, and every ledger answers again. Runs with `TROUPE_CLUSTER=1` (6-11 minutes on 2
 * loaded cores).
 */
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Cluster, ClusterStatus, Sharded, Storage } from "@troupe/runtime"
import { Duration, Effect, Layer, Schedule } from "effect"
import type { Sharding } from "effect/cluster"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import * as Postgres from "../durable/postgres.ts"
import { Ledger, Ledgers } from "./ledger.ts"
import * as Processes from "./processes.ts"
import { testSharding } from "./runner.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
// the issue's 10,000 (TROUPE_CLUSTER_ENTITIES=2000 for a quicker run while working on the cluster)
const ENTITIES = Number(process.env.TROUPE_CLUSTER_ENTITIES ?? 10_000)
const phase = (what: string) => {
  const line = `[${new Date().toISOString()}] ${what}`
  console.log(line)
  appendFileSync(join(logs, "test.log"), `${line}\n`)
}
/** Each runner's output goes to a file here (its path is printed when a test fails). */
const logs = mkdtempSync(join(tmpdir(), "troupe-runners-"))
const SCRIPT = fileURLToPath(new URL("./runner.ts", import.meta.url))

const startRunner = (url: string, name: string) =>
  Processes.within(Processes.startRunner(SCRIPT, url, name, logs), 120_000, `runner ${name} to be ready`)
/**
 * How long a runner's graceful stop may take: its actors' (30 s per bucket), the engine's (`engineStopTimeout`,
 * 30 s), the storage's writer and database client (`storageStopTimeout`, 10 s each), and the process's own start
 * of its stop on a loaded machine.
 */
const STOP_MILLIS = 180_000

/**
 * What the database holds for ledgers that answered wrong (their inbox rows, their stored state, the cluster's messages
 * and replies for them): written to `wrong.json` in the runners' log directory.
 */
const diagnose = async (url: string, ids: ReadonlyArray<string>) => {
  const rows = await Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* Effect.forEach(ids, (id) =>
        Effect.gen(function* () {
          const inbox = yield* sql`SELECT seq, message_id, handled, reply, created_at, message FROM troupe_inbox
            WHERE recipient = ${`Ledger/${id}`} ORDER BY seq`
          const snapshot = yield* sql`SELECT revision, state, updated_at FROM troupe_snapshots
            WHERE persistence_id = ${`Ledger/${id}`}`
          const messages = yield* sql`SELECT id, rowid, request_id, shard_id, entity_id, tag, processed, payload,
            last_read, reply_id FROM cluster_messages WHERE payload LIKE ${`%"${id}"%`} ORDER BY id`
          const replies = yield* sql`SELECT id, request_id, kind, payload FROM cluster_replies WHERE request_id IN (
            SELECT request_id FROM cluster_messages WHERE payload LIKE ${`%"${id}"%`}) ORDER BY id`
          return { id, inbox, snapshot, messages, replies }
        })
      )
    }).pipe(Effect.provide(Storage.postgresClient({ url })), Effect.orDie) as Effect.Effect<unknown>
  )
  writeFileSync(
    join(logs, "wrong.json"),
    JSON.stringify(rows, (_, v) => (typeof v === "bigint" ? String(v) : v), 2)
  )
  console.log(`what the database holds for the wrong ledgers: ${join(logs, "wrong.json")}`)
}

describe.skipIf(!enabled)("three runners on PostgreSQL", () => {
  const { runners, url } = Processes.postgresAndRunners()

  it("lose no message and handle none twice through a SIGKILL and a rolling restart", async () => {
    // started side by side: one after the other they took minutes under 8 CPU burners
    await Promise.all(["r1", "r2", "r3"].map(async (name, i) => (runners[i] = await startRunner(url(), name))))
    const client = Cluster.layerPostgres({ url: url(), clientOnly: true, shards: 30, ...testSharding })
    console.log(`runner logs in ${logs}; database ${url()}`)
    const ids = Array.from({ length: ENTITIES }, (_, i) => `ledger-${i}`)
    /** Tells every ledger `seq` (a tell returns once the cluster stored the message). */
    const send = (seq: number, afterEach: (id: string) => Effect.Effect<void> = () => Effect.void) =>
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Ledgers)
        yield* Effect.forEach(ids, (id) => Effect.andThen(refs(id).tell(Ledger.Record({ seq })), afterEach(id)), {
          concurrency: 100,
          discard: true
        })
      })
    /**
     * Asks every ledger what it has seen: one ask each, waiting for its reply. An ask is a persisted request: once
     * stored it is answered, by whichever runner holds its shard then. After the SIGKILL that is a runner that
     * first waits for the killed one's heartbeat to expire (`shardLockExpiration`, 30 s here), then works through
     * the backlog stored for those shards in storage order (thousands of messages; at load 25 on 2 cores a runner
     * drains about 50 a second). Re-sending an ask on a short deadline only adds an interrupt and a new request
     * to the back of that backlog (what made the 10,000-ledger run stall): so no retry, and a deadline that only
     * catches a hang (5 minutes: the whole backlog at 30 a second).
     */
    const seenAll = (what: string) =>
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Ledgers)
        const latencies: Array<number> = []
        const seen = yield* Effect.forEach(
          ids,
          (id) =>
            Effect.suspend(() => {
              const started = Date.now()
              return refs(id)
                .ask(Ledger.Seen(), { timeout: "5 minutes" })
                .pipe(
                  Effect.tap(() => Effect.sync(() => latencies.push(Date.now() - started))),
                  Effect.map((seen) => [id, seen] as const)
                )
            }),
          { concurrency: 100 }
        )
        latencies.sort((a, b) => a - b)
        const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
        phase(`${what}: ask latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`)
        return seen
      })
    /** Runs a phase of traffic; `what` names it in the failure if it does not end within `millis`. */
    const run = <A, E>(effect: Effect.Effect<A, E, Sharding.Sharding>, what: string, millis = 600_000) =>
      Processes.within(Effect.runPromise(Effect.provide(effect, Layer.orDie(client)) as Effect.Effect<A>), millis, what)

    // traffic, with r2 killed half way through
    phase("send 1, r2 killed half way")
    let accepted = 0
    await run(
      send(1, (id) =>
        Effect.sync(() => {
          if (++accepted === ENTITIES / 2) {
            phase(`kill r2 (${accepted} tells accepted, ${id} last)`)
            runners[1]!.child.kill("SIGKILL")
          }
        })
      ),
      "the first tells (r2 killed half way)"
    )
    await Processes.within(runners[1]!.exited, 30_000, "r2 to exit after its SIGKILL")
    // every ledger answers again (r2's shards taken over once its heartbeat expires)
    phase("ask all")
    const afterKill = await run(seenAll("after the kill"), "every ledger's answer after the kill")
    expect(afterKill.filter(([, seen]) => seen.length !== 1 || seen[0] !== 1)).toEqual([])

    // rolling restart: r2 comes back; then each runner in turn is stopped and started again
    phase("restart r2")
    runners[1] = await startRunner(url(), "r2b")
    phase("send 2")
    await run(send(2), "the second tells")
    for (let i = 0; i < 3; i++) {
      const old = runners[i]!
      phase(`rolling restart of ${old.name}`)
      old.child.kill("SIGTERM")
      expect(await Processes.within(old.exited, STOP_MILLIS, `the graceful stop of ${old.name}`)).toBe(0)
      runners[i] = await startRunner(url(), `${old.name}-restarted`)
    }
    phase("send 3")
    await run(send(3), "the third tells")
    phase("ask all")
    const final = await run(seenAll("after the rolling restart"), "every ledger's answer after the rolling restart")
    const wrong = final.filter(([, seen]) => seen.join(",") !== "1,2,3")
    if (wrong.length > 0)
      await diagnose(
        url(),
        wrong.slice(0, 5).map(([id]) => id)
      )
    expect(wrong.slice(0, 5)).toEqual([])
    expect(final).toHaveLength(ENTITIES)
    // the status table: three live runners that hold every shard once between them. Runners report every 2 s;
    // right after the restarts a report may still show a shard on its old runner, so wait for a consistent one.
    const all = Array.from({ length: 30 }, (_, i) => i + 1)
    const shardsOf = (status: ReadonlyArray<ClusterStatus.RunnerStatus>) => {
      const live = status.filter((r) => Date.now() - r.updatedAt < Duration.toMillis(ClusterStatus.staleAfter))
      return { runners: live.length, shards: live.flatMap((r) => r.shards).sort((a, b) => a - b) }
    }
    const settled = await Effect.runPromise(
      ClusterStatus.read.pipe(
        Effect.map(shardsOf),
        Effect.repeat({
          until: (s) => s.runners === 3 && s.shards.join() === all.join(),
          schedule: Schedule.spaced("500 millis")
        }),
        Effect.timeoutOrElse({ duration: "2 minutes", orElse: () => ClusterStatus.read.pipe(Effect.map(shardsOf)) }),
        Effect.provide(Storage.postgresClient({ url: url() }))
      ) as Effect.Effect<ReturnType<typeof shardsOf>>
    )
    expect(settled).toEqual({ runners: 3, shards: all })
    // A deadline for a hang only: 6-11 minutes at load 15-22 on 2 cores (each phase's start is in
    // the runners' log directory, test.log); CI allows 90 minutes for everything.
  }, 1_800_000)
})
