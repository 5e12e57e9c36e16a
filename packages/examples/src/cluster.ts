/**
 * Sharded agents on Effect Cluster. One support agent per ticket, addressed by the ticket's id wherever the
 * cluster placed it, keeping its notes in storage.
 *
 * 1. One runner on a SQLite file (the single-machine default): tickets answer, and keep their notes when the
 *    runner stops and starts again.
 * 2. Three runner processes on the PostgreSQL database at `DATABASE_URL` (an empty database will do): traffic
 *    to 30 tickets spread over the three, one runner killed with SIGKILL, and every ticket answering again from
 *    the two that are left, with all its notes.
 *
 * Run it with `DATABASE_URL=postgres://… npx -y pnpm@10.34.9 --filter @troupe/examples cluster`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Readline from "node:readline"
import { ActorSystem, Behavior, Cluster, ClusterStatus, Protocol, Sharded, Storage } from "@troupe/runtime"
import { Duration, Effect, Layer, Schema } from "effect"
import type { Sharding } from "effect/cluster"

const Ticket = Protocol.make("Ticket", {
  Note: { text: Schema.String },
  Summary: Protocol.request({}, { success: Schema.Struct({ notes: Schema.Number, runner: Schema.String }) })
})

/** A support agent for one ticket: it keeps the ticket's notes and says which runner it is on. */
const agent = (_ticket: string) =>
  Behavior.make(Ticket, {
    initial: [] as ReadonlyArray<string>,
    receive: {
      Note: (notes, { text }) => Effect.succeed([...notes, text]),
      Summary: (notes) =>
        Effect.succeed({ state: notes, reply: { notes: notes.length, runner: process.env.RUNNER ?? "this process" } })
    }
  })

export const Tickets = Sharded.make("Ticket", { behavior: agent, state: Schema.Array(Schema.String) })

const runnerLayer = (cluster: Layer.Layer<Sharding.Sharding, unknown>) =>
  Sharded.layer(Tickets).pipe(Layer.provideMerge(ActorSystem.layer()), Layer.provideMerge(cluster))

const onRunner = <A>(
  cluster: Layer.Layer<Sharding.Sharding, unknown>,
  effect: Effect.Effect<A, unknown, Sharding.Sharding>
) => Effect.runPromise(Effect.scoped(Effect.provide(effect, runnerLayer(cluster))) as Effect.Effect<A>)

/**
 * Asks each ticket for its summary. The deadline only catches a hang: a ticket whose runner was killed answers
 * once another runner took its shard (after the killed runner's heartbeat expired: `shardLockExpiration`, 35 s
 * by default) and worked through the messages stored for it meanwhile, which takes longer on a loaded machine.
 */
const summaries = (ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const refs = yield* Sharded.refs(Tickets)
    return yield* Effect.forEach(ids, (id) => refs(id).ask(Ticket.Summary(), { timeout: "2 minutes" }), {
      concurrency: 10
    })
  })

/**
 * Waits until `runners` runners report (`ClusterStatus`), each holds some shards, and between them they hold
 * every shard once: the cluster has settled after runners joined or one was killed. Runners report every 2 s.
 * (The first runner up holds every shard until the others have joined and the shards are rebalanced.)
 */
const settled = (url: string, runners: number) =>
  Effect.gen(function* () {
    const started = Date.now()
    while (true) {
      const live = (yield* ClusterStatus.read).filter(
        (r) => Date.now() - r.updatedAt < Duration.toMillis(ClusterStatus.staleAfter)
      )
      const shards = live.flatMap((r) => r.shards)
      const spread = live.length === runners && live.every((r) => r.shards.length > 0)
      if (spread && shards.length === SHARDS && new Set(shards).size === SHARDS) return Date.now() - started
      yield* Effect.sleep("500 millis")
    }
  }).pipe(
    Effect.timeoutOrElse({
      duration: "3 minutes",
      orElse: () => Effect.fail(new Error(`the cluster did not settle on ${runners} runners within 3 minutes`))
    }),
    Effect.provide(Storage.postgresClient({ url })),
    Effect.runPromise
  )

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** The engine's default shard count (`Cluster` options: `shards`). */
const SHARDS = 300

/** One runner process (`cluster.ts runner <url> <name>`): hosts tickets until SIGTERM. */
const runnerProcess = async (url: string, name: string) => {
  process.env.RUNNER = name
  const port = await freePort()
  await Effect.runPromise(
    Effect.scoped(
      Effect.provide(
        Effect.gen(function* () {
          console.log(`runner ${name} ready`)
          yield* Effect.callback<void>((resume) => void process.once("SIGTERM", () => resume(Effect.void)))
        }),
        runnerLayer(Cluster.layerPostgres({ url, host: "127.0.0.1", port }))
      )
    ) as Effect.Effect<void>
  )
  process.exit(0)
}

const startRunner = (url: string, name: string, children: Array<ChildProcess>) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, "runner", url, name], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    children.push(child)
    Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line === `runner ${name} ready`) resolve()
    })
    child.once("exit", (code) => reject(new Error(`runner ${name} exited with ${code}`)))
  })

/** Stops the runners (SIGTERM: they hand their shards over) and waits for them; SIGKILL after 30 s. */
const stopRunners = (children: ReadonlyArray<ChildProcess>) =>
  Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          const kill = setTimeout(() => child.kill("SIGKILL"), 30_000)
          child.once("exit", () => {
            clearTimeout(kill)
            resolve()
          })
          child.kill("SIGTERM")
        })
    )
  )

const single = async (dir: string) => {
  console.log("1. one runner on SQLite")
  const sqlite = () => Cluster.layerSqlite({ filename: join(dir, "tickets.db") })
  await onRunner(
    sqlite(),
    Effect.gen(function* () {
      const refs = yield* Sharded.refs(Tickets)
      yield* refs("T-1").tell(Ticket.Note({ text: "printer on fire" }))
      yield* refs("T-1").tell(Ticket.Note({ text: "fire out, printer gone" }))
    })
  )
  const [after] = await onRunner(sqlite(), summaries(["T-1"]))
  console.log(`   T-1 after a restart of the runner: ${after!.notes} notes`)
}

const three = async (url: string) => {
  console.log("2. three runners on PostgreSQL")
  const runners: Array<ChildProcess> = []
  const client = Cluster.layerPostgres({ url, clientOnly: true })
  const ids = Array.from({ length: 30 }, (_, i) => `T-${i + 1}`)
  try {
    await Promise.all(["r1", "r2", "r3"].map((name) => startRunner(url, name, runners)))
    // each runner takes its share of the shards once it sees the others (every few seconds)
    await settled(url, 3)
    const before = await onRunner(
      client,
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Tickets)
        yield* Effect.forEach(ids, (id) => refs(id).tell(Ticket.Note({ text: `opened ${id}` })), { discard: true })
        return yield* summaries(ids)
      })
    )
    const count = (s: ReadonlyArray<{ readonly runner: string }>, r: string) => s.filter((x) => x.runner === r).length
    console.log(
      `   30 tickets answer from r1: ${count(before, "r1")}, r2: ${count(before, "r2")}, r3: ${count(before, "r3")}`
    )
    runners[1]!.kill("SIGKILL")
    console.log("   r2 killed with SIGKILL")
    const takeover = await settled(url, 2)
    console.log(`   r2's shards taken over by r1 and r3 after ${(takeover / 1000).toFixed(0)} s`)
    const after = await onRunner(client, summaries(ids))
    console.log(
      `   30 tickets answer again from r1: ${count(after, "r1")}, r3: ${count(after, "r3")}, r2: ${count(after, "r2")}; notes kept: ${after.every((s) => s.notes === 1)}`
    )
  } finally {
    await stopRunners(runners)
  }
}

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-cluster-example-"))
  try {
    await single(dir)
    const url = process.env.DATABASE_URL
    if (url === undefined)
      console.log("2. skipped: set DATABASE_URL=postgres://user:password@host:port/db to run three runners")
    else await three(url)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === "runner") await runnerProcess(process.argv[3]!, process.argv[4]!)
else await main()
