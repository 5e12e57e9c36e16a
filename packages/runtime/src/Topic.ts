/**
 * Topics: publish a message to every actor subscribed to a topic. Each subscriber receives messages in the
 * order they were published; a subscriber is removed when it terminates.
 *
 * @example
 * ```ts
 * const Prices = Topic.make("prices", PriceFeed)
 * yield* Topic.subscribe(Prices, dashboard)
 * yield* Topic.publish(Prices, PriceFeed.Tick({ symbol: "ACME", price: 12 }))
 * ```
 */
import { Effect } from "effect"
import type { ActorRef } from "./ActorRef.ts"
import { ActorSystem, internal } from "./ActorSystem.ts"
import type { SystemImpl } from "./internal/system.ts"
import type * as Protocol from "./Protocol.ts"

/** A named topic whose messages are those of protocol `P`. */
export interface Topic<P extends Protocol.Any> {
  readonly name: string
  readonly protocol: P
}

/** Makes a topic. Topics with the same name are the same topic. */
export const make = <P extends Protocol.Any>(name: string, protocol: P): Topic<P> => ({ name, protocol })

/** @internal The subscribers of every topic of one system. */
export class Table {
  private readonly topics = new Map<string, Map<ActorRef<Protocol.Any>, () => void>>()
  private readonly system: SystemImpl
  constructor(system: SystemImpl) {
    this.system = system
  }

  subscribers(name: string): ReadonlyArray<ActorRef<Protocol.Any>> {
    return [...(this.topics.get(name)?.keys() ?? [])]
  }

  subscribe(name: string, ref: ActorRef<Protocol.Any>): void {
    let subscribers = this.topics.get(name)
    if (subscribers === undefined) {
      subscribers = new Map()
      this.topics.set(name, subscribers)
    }
    if (subscribers.has(ref)) return
    subscribers.set(
      ref,
      this.system.onTermination(ref, () => this.unsubscribe(name, ref))
    )
  }

  unsubscribe(name: string, ref: ActorRef<Protocol.Any>): void {
    const subscribers = this.topics.get(name)
    const cancel = subscribers?.get(ref)
    if (cancel === undefined) return
    cancel()
    subscribers!.delete(ref)
    if (subscribers!.size === 0) this.topics.delete(name)
  }
}

const TableKey = {}

/** @internal */
export const table = (system: SystemImpl): Table => system.extension(TableKey, () => new Table(system))

/** Subscribes an actor to a topic (once; subscribing again does nothing). */
export const subscribe = <P extends Protocol.Any>(
  topic: Topic<P>,
  ref: ActorRef<P>
): Effect.Effect<void, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => table(internal(system)).subscribe(topic.name, ref)))

/** Unsubscribes an actor from a topic. */
export const unsubscribe = <P extends Protocol.Any>(
  topic: Topic<P>,
  ref: ActorRef<P>
): Effect.Effect<void, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => table(internal(system)).unsubscribe(topic.name, ref)))

/** The current subscribers of a topic. */
export const subscribers = <P extends Protocol.Any>(
  topic: Topic<P>
): Effect.Effect<ReadonlyArray<ActorRef<P>>, never, ActorSystem> =>
  ActorSystem.use((system) =>
    Effect.sync(() => table(internal(system)).subscribers(topic.name) as ReadonlyArray<ActorRef<P>>)
  )

/**
 * Sends a message to every subscriber and returns how many accepted it. A subscriber whose mailbox refuses
 * it (policy `"fail"`) does not stop the others; the message becomes a dead letter for it.
 */
export const publish = <P extends Protocol.Any>(
  topic: Topic<P>,
  message: Protocol.Message<P>
): Effect.Effect<number, never, ActorSystem> =>
  ActorSystem.use((system) => {
    const impl = internal(system)
    return Effect.reduce(
      table(impl).subscribers(topic.name),
      () => 0,
      (delivered, ref) =>
        ref.tell(message).pipe(
          Effect.as(delivered + 1),
          Effect.catchTag("MailboxFull", () =>
            Effect.sync(() => {
              impl.deadLetter(ref.path, message as { readonly _tag: string }, "overflow")
              return delivered
            })
          )
        )
    )
  })
