import { ActorSystem, Behavior, Durable, Protocol } from "@troupe/runtime"
import { Effect, Schema } from "effect"

/** A counter: the actor most tests use. */
export const Counter = Protocol.make("Counter", {
  Add: { n: Schema.Number },
  Get: Protocol.request({}, { success: Schema.Number }),
  Fail: { reason: Schema.String }
})

export const counter = (initial = 0) =>
  Behavior.make(Counter, {
    initial,
    receive: {
      Add: (count, { n }) => Effect.succeed(count + n),
      Get: (count) => Effect.succeed({ state: count, reply: count }),
      Fail: (_, { reason }) => Effect.die(new Error(reason))
    }
  })

/** The counter as a durable actor: its count stored under `id` (`Fail` is ignored: a durable test's actor lives on). */
export const durableCounter = (id: string) =>
  Durable.persistent(
    Behavior.make(Counter, {
      initial: 0,
      receive: {
        Add: (count, { n }) => Effect.succeed(count + n),
        Get: (count) => Effect.succeed({ state: count, reply: count }),
        Fail: (count) => Effect.succeed(count)
      }
    }),
    { id, state: Schema.Number }
  )

/** Runs an effect with a fresh actor system, shut down at the end of the test. */
export const withSystem = <A, E, R>(effect: Effect.Effect<A, E, R>, options?: ActorSystem.Options) =>
  Effect.provide(effect, ActorSystem.layer(options))

/** Waits until `predicate` holds, polling on the real clock (for conditions reached by other fibers). */
export const eventually = (predicate: () => boolean, what = "condition") =>
  Effect.promise(async () => {
    const start = Date.now()
    while (!predicate()) {
      if (Date.now() - start > 5000) throw new Error(`Timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
  })

/** The error `f` throws (or a note that it threw none), for checks of what a constructor refuses. */
export const thrown = (f: () => unknown): unknown => {
  try {
    f()
    return "nothing thrown"
  } catch (error) {
    return error
  }
}
