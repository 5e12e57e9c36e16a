/**
 * The heap after full collections, for leak checks (vitest runs with --expose-gc; see vitest.config.ts).
 */
import { Effect } from "effect"

/** `global.gc` when the process runs with --expose-gc. */
export const gc = (globalThis as { gc?: () => void }).gc

/** The heap in use after three full collections, each followed by a turn of the event loop. */
export const heapUsed: Effect.Effect<number> = Effect.promise(async () => {
  for (let i = 0; i < 3; i++) {
    gc?.()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
})
