import { Effect } from "effect"

/**
 * An actor system's shutdown, once: its actors are stopped (`stopAll`: children before parents, in reverse start
 * order, each with its deadline), then the system's own `finish` runs (metrics flushed, deadlines closed), then those
 * that asked to be told ({@link Shutdown.whenShutdown}: what a module registered elsewhere for the system, a listener
 * on a storage that outlives it) are. A second `run` waits for the first.
 *
 * @example
 * ```ts
 * const shutdown = new Shutdown(stopAllActors, () => deadlines.close())
 * shutdown.whenShutdown(() => storage.forget(system))
 * yield* shutdown.run
 * ```
 */
export class Shutdown {
  private started = false
  private done: Effect.Effect<void> | undefined
  private finished = false
  /** Told once the system has shut down. */
  private readonly told = new Set<() => void>()
  private readonly stopAll: Effect.Effect<void>
  private readonly finish: () => void

  constructor(stopAll: Effect.Effect<void>, finish: () => void) {
    this.stopAll = stopAll
    this.finish = finish
  }

  /** Whether the shutdown began (the system's actors are being stopped for good). */
  get isShuttingDown(): boolean {
    return this.started
  }

  /** Runs the shutdown (see the module's doc); a second run waits for the first. */
  readonly run: Effect.Effect<void> = Effect.suspend(() => {
    if (this.done !== undefined) return this.done
    this.started = true
    const done = Effect.andThen(
      this.stopAll,
      Effect.sync(() => {
        this.finish()
        this.finished = true
        const told = [...this.told]
        this.told.clear()
        for (const f of told) f()
      })
    )
    this.done = Effect.cached(done).pipe(Effect.runSync)
    return this.done
  })

  /** Calls `f` once the shutdown is over; at once if it is. The answer cancels it. */
  whenShutdown(f: () => void): () => void {
    if (this.finished) {
      f()
      return () => {}
    }
    this.told.add(f)
    return () => this.told.delete(f)
  }
}
