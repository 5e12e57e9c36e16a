/**
 * Local tells and asks, in one process: the `runtime` bench's tell loop (one sender, one counter actor,
 * 500,000 tells, then one ask) and its sequential asks (200,000), in ns per message. Pass checkouts to
 * compare (A/B, rounds interleaved, each round in a process of its own):
 *
 *   pnpm exec node bench/probes/local-tell.ts [checkout...]
 */
import { execFileSync } from "node:child_process"
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"

const self = fileURLToPath(import.meta.url)
const here = fileURLToPath(new URL("../..", import.meta.url))
const TELLS = 500_000
const ASKS = 200_000

interface Result {
  readonly tellNs: number
  readonly askNs: number
}

const child = async (root: string): Promise<Result> => {
  const { Effect, Schema } = await import(`${root}/node_modules/effect/dist/index.js`)
  const { ActorSystem, Behavior, Protocol } = await import(`${root}/packages/runtime/src/index.ts`)
  // bench/counter.ts's counter, made with the checkout's own runtime (that module imports this checkout's)
  const Counter = Protocol.make("Counter", {
    Add: { n: Schema.Number },
    Get: Protocol.request({}, { success: Schema.Number })
  })
  const counter = Behavior.make(Counter, {
    initial: 0,
    receive: {
      Add: (count: number, { n }: { n: number }) => Effect.succeed(count + n),
      Get: (count: number) => Effect.succeed({ state: count, reply: count })
    }
  })
  const message = Counter.Add({ n: 1 })
  const run = <A>(effect: unknown): Promise<A> =>
    Effect.runPromise(Effect.scoped(Effect.provide(effect, ActorSystem.layer({ name: "probe" }))))
  const tells = Effect.gen(function* () {
    const ref = yield* ActorSystem.spawn(counter)
    for (let i = 0; i < TELLS; i++) yield* ref.tell(message)
    if ((yield* ref.ask(Counter.Get())) !== TELLS) throw new Error("lost tells")
  })
  const asks = Effect.gen(function* () {
    const ref = yield* ActorSystem.spawn(counter)
    for (let i = 0; i < ASKS; i++) yield* ref.ask(Counter.Get())
  })
  const time = async (f: () => Promise<unknown>) => {
    const start = performance.now()
    await f()
    return performance.now() - start
  }
  await run(tells)
  await run(asks)
  const tellMs: Array<number> = []
  const askMs: Array<number> = []
  for (let i = 0; i < 3; i++) {
    tellMs.push(await time(() => run(tells)))
    askMs.push(await time(() => run(asks)))
  }
  const best = (xs: Array<number>) => Math.min(...xs)
  return { tellNs: (best(tellMs) * 1e6) / TELLS, askNs: (best(askMs) * 1e6) / ASKS }
}

if (process.argv[2] === "--child") {
  const result = await child(process.argv[3]!)
  process.stdout.write(`\n${JSON.stringify(result)}\n`)
} else {
  const roots = process.argv.length > 2 ? process.argv.slice(2) : [here]
  const rounds = Number(process.env.ROUNDS ?? 5)
  const results = roots.map(() => [] as Array<Result>)
  for (let round = 0; round < rounds; round++) {
    for (let r = 0; r < roots.length; r++) {
      const out = execFileSync(process.execPath, [self, "--child", roots[r]!], { encoding: "utf8" })
      const result = JSON.parse(out.trim().split("\n").at(-1)!) as Result
      results[r]!.push(result)
      console.log(
        `${r} ${roots[r]}: tell ${result.tellNs.toFixed(0)} ns, ask ${result.askNs.toFixed(0)} ns; load ${loadavg()[0]!.toFixed(1)}`
      )
    }
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  for (let r = 0; r < roots.length; r++) {
    const all = results[r]!
    console.log(
      `median ${roots[r]}: tell ${median(all.map((x) => x.tellNs)).toFixed(0)} ns, ask ${median(all.map((x) => x.askNs)).toFixed(0)} ns`
    )
  }
}
