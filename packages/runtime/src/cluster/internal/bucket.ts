/**
 * A bucket leaving a runner (its shard moved, or the runner stops): its actors here are stopped, within the stop
 * deadline, and the messages that still come through it reach none of them. Such a message is abandoned to the
 * cluster (a persisted one is delivered by the shard's next owner), so a message is handled here before the bucket
 * has left or by the next owner, never by both; no actor of the bucket is started here again for it.
 */
import { Clock, Duration, Effect, Fiber, Option } from "effect"
import { ClusterSchema } from "effect/cluster"
import { ActorSystem, internal as systemInternal } from "../../ActorSystem.ts"
import * as Entity from "../../durable/Entity.ts"
import type { Gone } from "../../durable/internal/region.ts"
import type * as Protocol from "../../Protocol.ts"
import { StopTimedOut } from "../../SystemEvent.ts"

/**
 * Interrupts the current request as the cluster's "abandoned": a persisted message is left for the shard's next
 * owner (not answered here), a volatile one's sender is told it was interrupted.
 */
const abandon: Effect.Effect<never> = Effect.interruptible(
  Effect.callback<never>(() => {
    const fiber = Fiber.getCurrent()!
    fiber.interruptUnsafe(fiber.id, ClusterSchema.Abandon.annotation)
  })
)

/**
 * Whether a bucket has left this runner: its deliveries' refs are made with {@link Left.gone}, and its deliveries
 * run in {@link Left.guard}.
 */
export class Left {
  private left = false
  private readonly inFlight = new Set<Fiber.Fiber<unknown, unknown>>()
  readonly gone: Gone = { now: () => this.left, refuse: abandon }
  /**
   * From now on, the bucket's messages reach none of its actors here; the deliveries in flight are abandoned (one
   * waiting for a durable actor's reply would otherwise wait for an actor that is not started here again).
   */
  leave(): void {
    this.left = true
    for (const fiber of this.inFlight) fiber.interruptUnsafe(fiber.id, ClusterSchema.Abandon.annotation)
  }
  /** Runs a delivery through the bucket: abandoned at once, or when the bucket leaves, if it has left. */
  guard<A, E>(delivery: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.withFiber((fiber) => {
      if (this.left) return abandon
      this.inFlight.add(fiber)
      return Effect.ensuring(
        delivery,
        Effect.sync(() => this.inFlight.delete(fiber))
      )
    })
  }
}

/** The stop deadlines run on the real clock (a test's `TestClock` does not hold a runner's stop). */
const liveClock = Clock.Clock.defaultValue()

/**
 * Stops the actors `ids` of kind `kind` (a bucket's), running or starting, and waits for them at most
 * `timeoutMillis`. Those still here then are reported (a `StopTimedOut` event each, and an error log naming them)
 * and the stop goes on without them.
 */
export const stopActors = <P extends Protocol.Any, R>(
  kind: Entity.Kind<P, R>,
  ids: ReadonlyArray<string>,
  timeoutMillis: number
): Effect.Effect<void, never, ActorSystem> =>
  Effect.gen(function* () {
    const stopped = yield* Effect.timeoutOption(Entity.leave(kind, ids), Duration.millis(timeoutMillis)).pipe(
      Effect.provideService(Clock.Clock, liveClock)
    )
    if (Option.isSome(stopped)) return
    const system = systemInternal(yield* ActorSystem)
    const actors = (yield* Entity.present(kind, ids)).map((id) => Entity.path(kind, id))
    for (const path of actors) system.publish(new StopTimedOut({ path, tag: undefined, timeoutMillis }))
    yield* Effect.logError(
      "Sharded actors did not stop within the stop deadline when their bucket left this runner; it goes on without them"
    ).pipe(Effect.annotateLogs({ actors, timeoutMillis }))
  })
