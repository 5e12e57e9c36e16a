/**
 * A sharded ref that came in a reply from another runner, used after that runner (which hosts the ref's actor) was
 * SIGKILLed: runner a (in this process) asks a directory on runner b (a process) for a ref to an echo on b, b is killed,
 * and a's ask through the ref, with a deadline longer than the takeover, reaches the echo on a once a has taken b's
 * shard (after b's heartbeat expired: 29 s in the first run); it neither hangs nor fails. Runs with `TROUPE_CLUSTER=1`
 * (~45 s). The same after a graceful stop, in one process: `ShardedRefReplies.test.ts`.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ActorSystem, Cluster, Sharded } from "@troupe/runtime"
import { Cause, Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { type EntityId, ShardId, Sharding } from "effect/cluster"
import { afterAll, describe, expect, it } from "vitest"
import * as Postgres from "../durable/postgres.ts"
import * as Processes from "./processes.ts"
import { Directories, Directory, Echo, Echoes } from "./refs.ts"
import { testSharding } from "./runner.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
const SCRIPT = fileURLToPath(new URL("./refRunner.ts", import.meta.url))
/** As in `refRunner.ts`. */
const SHARDS = 2
const shards = Array.from({ length: SHARDS }, (_, i) => ShardId.make("default", i + 1))
const phase = (what: string) => console.log(`[${new Date().toISOString()}] ${what}`)

describe.skipIf(!enabled)("a sharded ref from a reply, used after the runner of its actor was SIGKILLed", () => {
  const { runners, url } = Processes.postgresAndRunners()
  const scopes: Array<Scope.Closeable> = []
  afterAll(async () => {
    for (const scope of scopes.reverse()) await Effect.runPromise(Scope.close(scope, Exit.void))
  }, 120_000)

  it("reaches its actor on the runner that took the shard, within the ask's deadline", async () => {
    const scope = Effect.runSync(Scope.make())
    scopes.push(scope)
    const a = (await Effect.runPromise(
      Layer.buildWithScope(
        Layer.mergeAll(Sharded.layer(Echoes), Sharded.layer(Directories)).pipe(
          Layer.provideMerge(ActorSystem.layer({ name: "a" })),
          Layer.provideMerge(
            Cluster.layerPostgres({
              url: url(),
              host: "127.0.0.1",
              port: await Postgres.freePort(),
              shards: SHARDS,
              ...testSharding
            })
          )
        ),
        scope
      ) as Effect.Effect<unknown>
    )) as Context.Context<never>
    const sharding = Context.get(a as Context.Context<Sharding.Sharding>, Sharding.Sharding)
    const held = () => shards.filter((s) => sharding.hasShardId(s))
    const until = async (what: string, millis: number, done: () => boolean) => {
      const deadline = Date.now() + millis
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`waited ${millis / 1000} s for ${what}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    await until("runner a holds every shard", 60_000, () => held().length === SHARDS)
    const logs = mkdtempSync(join(tmpdir(), "troupe-ref-kill-"))
    const b = await Processes.within(Processes.startRunner(SCRIPT, url(), "b", logs), 120_000, "runner b's start")
    runners.push(b)
    await until("runner b holds a shard", 60_000, () => held().length === 1)
    /** An id of `type` whose bucket's shard a does not hold (b holds it). */
    const onB = (type: { readonly name: string; readonly buckets: number }, prefix: string) => {
      for (let i = 0; ; i++) {
        const id = `${prefix}-${i}`
        if (!sharding.hasShardId(sharding.getShardId(Sharded.bucketOf(type, id) as EntityId.EntityId, "default")))
          return id
      }
    }
    const run = <A, E>(effect: Effect.Effect<A, E, unknown>) =>
      Effect.runPromise(Effect.exit(Effect.provideContext(effect, a)) as Effect.Effect<Exit.Exit<A, E>>)
    const echo = onB(Echoes, "echo")
    const found = await run(
      Effect.flatMap(Sharded.ref(Directories, onB(Directories, "dir")), (d) =>
        d.ask(Directory.Find({ id: echo }), { timeout: "30 seconds" })
      )
    )
    if (Exit.isFailure(found)) throw new Error(`the directory on b: ${Cause.pretty(found.cause)}`)
    const ref = found.value
    expect(await run(ref.ask(Echo.Ping(), { timeout: "30 seconds" }))).toEqual(Exit.succeed(`${echo}@b`))
    phase("runner b SIGKILLed")
    b.child.kill("SIGKILL")
    await Processes.within(b.exited, 30_000, "runner b's exit")
    const started = Date.now()
    const exit = await Processes.within(
      run(ref.ask(Echo.Ping(), { timeout: "90 seconds" })),
      120_000,
      "the ask through the ref"
    )
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
    phase(
      `after ${Date.now() - started} ms: ${Exit.isSuccess(exit) ? exit.value : String(error ?? Cause.pretty(exit.cause))}; a holds ${held().length} shards`
    )
    expect(exit).toEqual(Exit.succeed(`${echo}@a`))
  }, 300_000)
})
