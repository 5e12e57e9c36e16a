/** Shared helpers of the benchmarks. */
import { ActorSystem } from "@troupe/runtime"
import { Effect } from "effect"

/** A figure a benchmark reports, with the goal an issue set for it, if any. */
export interface Figure {
  readonly name: string
  readonly value: number
  readonly unit?: string
  readonly goal?: { readonly atLeast: number } | { readonly atMost: number }
  /** A second way to meet the goal, as the issue allows it (e.g. "within 10 % of the raw Effect shape"). */
  readonly otherwise?: { readonly goal: string; readonly met: boolean }
  /** How it was measured, in a few words. */
  readonly detail?: string
}

/** Wall time of `f`, in seconds. */
export const time = async (f: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await f()
  return (performance.now() - start) / 1000
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Whether a figure meets its goal (true when it has none). */
export const meets = (figure: Figure): boolean =>
  figure.goal === undefined || figure.otherwise?.met === true
    ? true
    : "atLeast" in figure.goal
      ? figure.value >= figure.goal.atLeast
      : figure.value <= figure.goal.atMost

/**
 * A group of figures measured together. `pnpm bench <word>…` runs the cases whose name or suite name
 * contains one of the words (`pnpm bench fanout`, `pnpm bench runtime`); without words, every case.
 */
export interface Case {
  readonly name: string
  readonly run: () => Promise<ReadonlyArray<Figure>>
}

/** Heap bytes in use after full collections (the benchmarks run with `--expose-gc`). */
export const heapUsed = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run the benchmark with --expose-gc")
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** Milliseconds spent in garbage collection since the bench started (entries arrive after the fact). */
export const gcMillis = (() => {
  let total = 0
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) total += entry.duration
  }).observe({ entryTypes: ["gc"] })
  return () => total
})()

/**
 * The median of per-round ratios `a[i] / b[i]`: each pair was measured back to back, so the machine's drift
 * between rounds cancels out.
 */
export const medianRatio = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number =>
  median(a.map((x, i) => x / b[i]!))

/** Runs an effect on a fresh actor system named `bench`, shut down at the end. */
export const onSystem = <A, E>(effect: Effect.Effect<A, E, ActorSystem.ActorSystem>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, ActorSystem.layer({ name: "bench" })))

/** An effect that runs `effect` and answers how long it took, in seconds. */
export const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const start = performance.now()
    yield* effect
    return (performance.now() - start) / 1000
  })
