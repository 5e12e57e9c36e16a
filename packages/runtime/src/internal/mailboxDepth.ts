/**
 * The `troupe_mailbox_depth` histogram: the mailbox depth each time an actor starts handling messages.
 *
 * It is sampled on every wake of an actor, the runtime's hottest path, so it is kept here and registered
 * with the metric registry (`Metric.registerUnsafe`), which reads it when metrics are snapshotted: an update
 * is a few array operations instead of the registry look-ups of `Metric.updateUnsafe` (which cost about a
 * sixth of a message to an idle actor). One histogram per registry and attribute set, shared by the systems
 * that use them, as a metric updated through the registry would be.
 */
import { Context, Metric } from "effect"

const boundaries = [1, 2, 4, 8, 16, 64, 256, 1024, 4096, 16384]

const metric = Metric.histogram("troupe_mailbox_depth", {
  description: "Mailbox depth when an actor is scheduled",
  boundaries
})

/** Counts per bucket (the last: above every boundary), count, sum, min and max of the samples. */
export class DepthHistogram {
  private readonly values = new Uint32Array(boundaries.length + 1)
  private count = 0
  private sum = 0
  private min = Number.MAX_VALUE
  private max = -Number.MAX_VALUE

  record(depth: number): void {
    let i = 0
    while (i < boundaries.length && depth > boundaries[i]!) i++
    this.values[i]!++
    this.count++
    this.sum += depth
    if (depth < this.min) this.min = depth
    if (depth > this.max) this.max = depth
  }

  state(): Metric.HistogramState {
    let cumulated = 0
    const buckets = boundaries.map((boundary, i): [number, number] => [boundary, (cumulated += this.values[i]!)])
    return { buckets, count: this.count, min: this.min, max: this.max, sum: this.sum }
  }
}

const registered = new WeakMap<Metric.MetricRegistry, Map<Readonly<Record<string, string>>, DepthHistogram>>()

/** The histogram of the registry and metric attributes of `context`, registered on first use. */
export const depthHistogram = (context: Context.Context<never>): DepthHistogram => {
  const registry = Context.get(context, Metric.MetricRegistry)
  const attributes = Context.get(context, Metric.CurrentMetricAttributes)
  let byAttributes = registered.get(registry)
  if (byAttributes === undefined) {
    byAttributes = new Map()
    registered.set(registry, byAttributes)
  }
  let histogram = byAttributes.get(attributes)
  if (histogram === undefined) {
    const made = new DepthHistogram()
    histogram = made
    byAttributes.set(attributes, made)
    Metric.registerUnsafe(metric, context, { get: () => made.state(), update: () => {}, modify: () => {} })
  }
  return histogram
}
