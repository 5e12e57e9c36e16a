/**
 * Topics: publish a message to every actor subscribed to a topic, on this node and the connected ones. Each
 * subscriber receives messages in the order they were published; a subscriber is removed when it terminates
 * or its node goes down.
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
import type * as Protocol from "./Protocol.ts"

/** A named topic whose messages are those of protocol `P`. */
export interface Topic<P extends Protocol.Any> {
  readonly name: string
  readonly protocol: P
}

/** Makes a topic. Topics with the same name are the same topic. */
export const make = <P extends Protocol.Any>(name: string, protocol: P): Topic<P> => ({ name, protocol })

/** Subscribes an actor to a topic (once; subscribing again does nothing). */
export const subscribe = <P extends Protocol.Any>(
  topic: Topic<P>,
  ref: ActorRef<P>
): Effect.Effect<void, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => internal(system).topics.add(topic.name, ref)))

/** Unsubscribes an actor from a topic. */
export const unsubscribe = <P extends Protocol.Any>(
  topic: Topic<P>,
  ref: ActorRef<P>
): Effect.Effect<void, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => internal(system).topics.remove(topic.name, ref)))

/** The current subscribers of a topic. */
export const subscribers = <P extends Protocol.Any>(
  topic: Topic<P>
): Effect.Effect<ReadonlyArray<ActorRef<P>>, never, ActorSystem> =>
  ActorSystem.use((system) => Effect.sync(() => internal(system).topics.refs(topic.name, topic.protocol)))

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
      impl.topics.refs(topic.name, topic.protocol),
      () => 0,
      (delivered, ref) =>
        ref.tell(message).pipe(
          Effect.as(delivered + 1),
          Effect.catch((refused) =>
            Effect.sync(() => {
              impl.deadLetter(
                ref.path,
                message as { readonly _tag: string },
                refused._tag === "MailboxFull" ? "overflow" : "invalid"
              )
              return delivered
            })
          )
        )
    )
  })
