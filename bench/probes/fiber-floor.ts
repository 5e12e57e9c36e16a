/**
 * The floor under a live session's bytes: what two waiting program fibers of the `sessions` bench's shape
 * (an `Effect.gen` at the gate, forked with a service provided, as a role's program is) cost with no session
 * around them. Run: `pnpm exec node --expose-gc bench/probes/fiber-floor.ts`.
 */
import { Context, Effect, type Fiber } from "effect"

const Role = Context.Reference<object | undefined>("probe/Role", { defaultValue: () => undefined })
let release: () => void = () => {}
const opened = new Promise<void>((resolve) => {
  release = resolve
})
const program = (n: number) =>
  Effect.gen(function* () {
    yield* Effect.promise(() => opened)
    return n
  })
const heap = () => {
  const gc = (globalThis as { gc?: () => void }).gc!
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
const N = 5000
const bare = (n: number) => Effect.promise(() => opened.then(() => n))
const shapes: ReadonlyArray<readonly [string, (i: number) => Effect.Effect<number>]> = [
  [
    "Effect.gen at a promise, service provided, onExit",
    (i) =>
      Effect.onExit(
        Effect.provideService(
          Effect.suspend(() => program(i)),
          Role,
          { i }
        ),
        () => Effect.void
      )
  ],
  [
    "Effect.gen at a promise, service provided",
    (i) =>
      Effect.provideService(
        Effect.suspend(() => program(i)),
        Role,
        { i }
      )
  ],
  ["Effect.gen at a promise, onExit", (i) => Effect.onExit(program(i), () => Effect.void)],
  ["Effect.gen at a promise", program],
  ["a bare Effect.promise", bare]
]
const main = Effect.gen(function* () {
  for (const [name, make] of shapes) {
    const before = heap()
    const fibers: Array<Fiber.Fiber<number>> = []
    for (let i = 0; i < 2 * N; i++) fibers.push(yield* Effect.forkChild(make(i)))
    yield* Effect.sleep(10)
    console.log(`two fibers (per session), ${name}: ${((heap() - before) / N).toFixed(0)} B`)
    fibers.length = 0
  }
  release()
})
await Effect.runPromise(main)
