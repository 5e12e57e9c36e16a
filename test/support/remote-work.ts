/**
 * What the remote-path tests share: a worker protocol and actor, a session protocol whose first message can be
 * made too big for the wire, a patient detector, and helpers that fail a test instead of hanging it.
 */
import { Behavior, Choreography, Protocol, Session } from "@troupe/runtime"
import { FailureDetector } from "@troupe/transport"
import { Deferred, Effect, Schema } from "effect"
import type { Node } from "./topology.ts"

export const Work = Protocol.make("Work", {
  Item: { n: Schema.Number },
  Count: Protocol.request({}, { success: Schema.Number }),
  SlowCount: Protocol.request({}, { success: Schema.Number }),
  Hang: Protocol.request({}, { success: Schema.Void }),
  Blob: { data: Schema.String },
  Value: { value: Schema.Unknown },
  Stop: {}
})

export interface Signals {
  readonly hung?: Deferred.Deferred<void>
  readonly interrupted?: Deferred.Deferred<void>
  /** Each Item waits this long (a slow consumer). */
  readonly itemMillis?: number
}

export const worker = (signals: Signals = {}) =>
  Behavior.make(Work, {
    initial: 0,
    receive: {
      Item: (count) =>
        signals.itemMillis === undefined
          ? Effect.succeed(count + 1)
          : Effect.as(Effect.sleep(signals.itemMillis), count + 1),
      Count: (count) => Effect.succeed({ state: count, reply: count }),
      SlowCount: (count) => Effect.as(Effect.sleep(signals.itemMillis ?? 0), { state: count, reply: count }),
      Hang: () =>
        Effect.gen(function* () {
          if (signals.hung !== undefined) yield* Deferred.succeed(signals.hung, undefined)
          return yield* Effect.never
        }).pipe(
          Effect.onInterrupt(() =>
            signals.interrupted === undefined ? Effect.void : Deferred.succeed(signals.interrupted, undefined)
          )
        ),
      Blob: (count) => Effect.succeed(count + 1),
      Value: (count) => Effect.succeed(count + 1),
      Stop: (count, _, ctx) => Effect.as(ctx.stopSelf, count)
    }
  })

/** TROUPE_CHAOS=1 runs the full sizes of the issue; the default runs a smaller version of the same test. */
export const chaos = process.env.TROUPE_CHAOS === "1"

/** A session whose first message can be made too big for the wire. */
export const Upload = Choreography.makeUnsafe("Upload", ["Client", "Server"], ($) => [
  $.message("Client", "Server", "data", Schema.String),
  $.message("Server", "Client", "stored", Schema.Finite)
])

export const uploader = (bytes: number) =>
  Session.role(Upload, "Client", (ep) =>
    Effect.gen(function* () {
      const stored = yield* (yield* ep.send("Server", "data", "x".repeat(bytes))).receive()
      yield* stored.next.close()
      return stored.payload
    })
  )

export const server = Session.role(Upload, "Server", (ep) =>
  Effect.gen(function* () {
    const data = yield* ep.receive()
    yield* (yield* data.next.send("Client", "stored", data.payload.length)).close()
    return data.payload.length
  })
)

/** A patient failure detector, for tests about leaks and load: a loaded machine must not make them node-down tests. */
export const tolerant = { failureDetector: FailureDetector.timeout("10 seconds") }

export const pair = (nodes: ReadonlyArray<Node>) => ({ alice: nodes[0]!, bob: nodes[1]! })

/** Fails the test (instead of hanging it) when `effect` takes longer than `millis`. */
export const within = <A, E>(millis: number, what: string, effect: Effect.Effect<A, E>) =>
  Effect.timeoutOrElse(effect, {
    duration: millis,
    orElse: () => Effect.die(new Error(`${what}: not within ${millis} ms`))
  })

/** Waits on the real clock until `f` holds (events we cannot await directly), failing after `millis`. */
export const eventually = <A>(effect: Effect.Effect<A>, until: (a: A) => boolean, what: string, millis = 5000) =>
  within(
    millis,
    what,
    Effect.gen(function* () {
      for (;;) {
        const value = yield* effect
        if (until(value)) return value
        yield* Effect.sleep("5 millis")
      }
    })
  )
