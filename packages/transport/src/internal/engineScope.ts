/**
 * An engine's life in a scope: started with its metrics registered and its heartbeat ticker running, shut down
 * gracefully when the scope closes (see `engine.ts`).
 */
import type { Scope } from "effect"
import { Context, Effect, Metric, PubSub, Queue, Schedule } from "effect"
import type { PeerEvent } from "../Peer.ts"
import * as TransportMetrics from "../TransportMetrics.ts"
import { Engine, type EngineOptions } from "./engine.ts"
import type { DeliveryImpl } from "./inbound.ts"

const now = Date.now

/** Registers the node's metrics, read from its counters at snapshot time. */
const registerMetrics = (engine: Engine, context: Context.Context<never>): (() => void) => {
  const attributed = Context.add(context, Metric.CurrentMetricAttributes, { node: engine.options.node })
  const counters = engine.counters
  const counter = (metric: Metric.Counter<number>, get: () => number) =>
    Metric.registerUnsafe(metric, attributed, {
      get: () => ({ count: get(), incremental: true }),
      update: () => {},
      modify: () => {}
    })
  const registrations = [
    counter(TransportMetrics.framesIn, () => counters.framesIn),
    counter(TransportMetrics.framesOut, () => counters.framesOut),
    counter(TransportMetrics.bytesIn, () => counters.bytesIn),
    counter(TransportMetrics.bytesOut, () => counters.bytesOut),
    counter(TransportMetrics.envelopesIn, () => counters.envelopesIn),
    counter(TransportMetrics.envelopesOut, () => counters.envelopesOut),
    counter(TransportMetrics.resent, () => counters.resent),
    counter(TransportMetrics.duplicates, () => counters.duplicates),
    counter(TransportMetrics.badFrames, () => counters.badFrames),
    counter(TransportMetrics.refused, () => counters.refused),
    Metric.registerUnsafe(TransportMetrics.linksUp, attributed, {
      get: () => ({ value: counters.linksUp }),
      update: () => {},
      modify: () => {}
    })
  ]
  return () => {
    for (const registration of registrations) registration.remove()
  }
}

/** Starts an engine in the current scope; it shuts down gracefully when the scope closes. */
export const make = (options: EngineOptions): Effect.Effect<Engine, never, Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<never>()
    const inbound = yield* Queue.unbounded<DeliveryImpl>()
    const events = yield* PubSub.unbounded<PeerEvent>()
    const engine = new Engine(options, context, inbound, events)
    const unregister = registerMetrics(engine, context)
    yield* Effect.addFinalizer(() => Effect.ensuring(engine.shutdown(), Effect.sync(unregister)))
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.sync(() => engine.tick(now())),
        Schedule.spaced(options.heartbeatMs)
      )
    )
    return engine
  })
