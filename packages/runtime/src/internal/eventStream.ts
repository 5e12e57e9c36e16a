/**
 * The system's event stream: every subscriber has a buffer of the latest {@link EVENT_BUFFER} events it has not
 * taken, and the system never waits for it. Each event is numbered as it is published, with the number of dead
 * letters published so far, so a subscriber that fell behind learns what it missed: an `EventsMissed` event (how
 * many events, how many of them dead letters) comes before the next event it gets. A `DurableStopped` is never
 * missed (whoever waits for it would wait for ever): one that slid out of a subscriber's buffer comes after the
 * `EventsMissed` that stands for the others.
 */
import { Effect, PubSub, type Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as SystemEvent from "../SystemEvent.ts"

/** How many events a subscriber that does not keep up keeps (the latest ones). */
export const EVENT_BUFFER = 4096

/** An event as published: its number (1, 2, ...) and the dead letters published up to it, it included. */
interface Numbered {
  readonly seq: number
  readonly deadLetters: number
  readonly event: SystemEvent.SystemEvent
}

/**
 * Whether a subscriber must get the event even when it falls behind: a `DurableStopped` (at most one per storage a
 * system's durable work was fenced on).
 */
export const isKept = (event: SystemEvent.SystemEvent): event is SystemEvent.DurableStopped =>
  event._tag === "DurableStopped"

/** How many kept events (see {@link isKept}) the stream remembers for subscribers that fell behind. */
const KEPT = 64

/** The system's event stream: numbered events, the oldest dropped when full, a lagging subscriber told `EventsMissed`. */
export class EventStream {
  private readonly hub: PubSub.PubSub<Numbered>
  private published = 0
  private deadLetters = 0
  /** The latest kept events published (see {@link isKept}), oldest first: given again to a subscriber that missed them. */
  private readonly kept: Array<Numbered> = []

  constructor(capacity: number = EVENT_BUFFER) {
    this.hub = Effect.runSync(PubSub.sliding<Numbered>(capacity))
  }

  /**
   * How many subscribe now: publishers of costly events look first whether anyone listens. (The hub's own
   * `subscribers` holds only the subscriptions waiting for an event right now, not one busy with the last.)
   */
  readonly subscribers = { size: 0 }

  /**
   * Publishes an event to every subscriber; one whose buffer is full loses its oldest event.
   *
   * @example
   * stream.publish(new SystemEvent.Spawned({ path: "/user/a", protocol: "A" }))
   */
  publish(event: SystemEvent.SystemEvent): void {
    const seq = ++this.published
    if (event._tag === "DeadLetter") this.deadLetters++
    if (this.subscribers.size === 0) return
    const numbered: Numbered = { seq, deadLetters: this.deadLetters, event }
    if (isKept(event) && this.kept.push(numbered) > KEPT) this.kept.shift()
    const hub = this.hub
    if (PubSub.publishUnsafe(hub, numbered) || hub.shutdownFlag.current) return
    // a full buffer refuses `publishUnsafe` (which would drop the newest event): make room as the sliding strategy
    // does, by dropping the oldest, here and now (`PubSub.publish` would run an effect in a socket's callback)
    hub.pubsub.slide()
    if (hub.pubsub.publish(numbered)) hub.strategy.completeSubscribersUnsafe(hub.pubsub, hub.subscribers)
  }

  /**
   * Subscribes now: the stream yields every event published after this effect, each gap (events dropped while the
   * subscriber did not keep up) told by an `EventsMissed` event in its place, followed by the gap's kept events (see
   * {@link isKept}).
   *
   * @example
   * const events = yield* stream.subscribe()
   * yield* Stream.runForEach(events, (event) => Effect.log(event._tag))
   */
  subscribe(): Effect.Effect<Stream.Stream<SystemEvent.SystemEvent>, never, Scope.Scope> {
    const subscribers = this.subscribers
    const counted = Effect.acquireRelease(
      Effect.sync(() => void subscribers.size++),
      () => Effect.sync(() => void subscribers.size--)
    )
    const kept = this.kept
    return Effect.map(Effect.andThen(counted, PubSub.subscribe(this.hub)), (subscription) => {
      // read after subscribing: an event published meanwhile is in the subscription, and is not counted missed
      let seq = this.published
      let deadLetters = this.deadLetters
      return Stream.fromSubscription(subscription).pipe(
        Stream.mapArray((batch) => {
          const out: Array<SystemEvent.SystemEvent> = []
          for (const next of batch) {
            if (next.seq > seq + 1) {
              const before = next.deadLetters - (next.event._tag === "DeadLetter" ? 1 : 0)
              const found = kept.filter((k) => k.seq > seq && k.seq < next.seq)
              const count = next.seq - seq - 1 - found.length
              if (count > 0) out.push(new SystemEvent.EventsMissed({ count, deadLetters: before - deadLetters }))
              for (const k of found) out.push(k.event)
            }
            out.push(next.event)
            seq = Math.max(seq, next.seq)
            deadLetters = Math.max(deadLetters, next.deadLetters)
          }
          return out as unknown as NonEmptyReadonlyArray<SystemEvent.SystemEvent> // as long as the batch, or longer
        })
      )
    })
  }

  /**
   * The events from the moment the stream is run (it subscribes then).
   *
   * @example
   * yield* stream.stream().pipe(Stream.take(1), Stream.runCollect)
   */
  stream(): Stream.Stream<SystemEvent.SystemEvent> {
    return Stream.unwrap(this.subscribe())
  }
}
