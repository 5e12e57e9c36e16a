/**
 * A layer whose release is bounded: the cluster engine's shutdown (shard handoff, sockets, storage loops) must not
 * hold a runner's stop for ever. Past the deadline its release is left running, detached, an error is logged, and
 * the stop goes on.
 */
import { Clock, Duration, Effect, Exit, Fiber, Layer, Option, Scope } from "effect"

/** The stop deadlines run on the real clock (a test's `TestClock` does not hold a runner's stop). */
const liveClock = Clock.Clock.defaultValue()

/**
 * `layer`, built in a scope of its own that its release closes within `millis`; after that the release goes on in
 * the background and `what` is named in an error log.
 */
export const boundedStop = <A, E, R>(layer: Layer.Layer<A, E, R>, millis: number, what: string): Layer.Layer<A, E, R> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      yield* Effect.addFinalizer((exit) =>
        Effect.flatMap(Effect.forkDetach(Scope.close(scope, exit), { startImmediately: true }), (closing) =>
          Effect.timeoutOption(Fiber.await(closing), Duration.millis(millis)).pipe(
            Effect.provideService(Clock.Clock, liveClock),
            Effect.flatMap((done) =>
              Option.isSome(done)
                ? Effect.void
                : Effect.logError(`${what} did not stop within the stop deadline; the stop goes on without it`).pipe(
                    Effect.annotateLogs({ timeoutMillis: millis })
                  )
            )
          )
        )
      )
      return yield* Layer.buildWithScope(layer, scope).pipe(
        Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
      )
    })
  )
