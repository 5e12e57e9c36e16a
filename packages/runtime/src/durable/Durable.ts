/**
 * Durable actors and durable messages: nothing a crash can take back.
 *
 * {@link persistent} makes a behaviour durable under a persistence id: its state is stored (through the
 * `Storage` in context) after the messages it handles, and an actor spawned with it, restarted by its
 * supervisor, or spawned again in a new process starts from the stored state. What is written when:
 *
 * - after a message without a reply, the new state is written in the next batch (within `flushDelay`,
 *   2 ms by default, together with everything else pending); nobody waits for it, and a burst of messages
 *   costs one write;
 * - after a request, the new state is committed *before* the reply is sent: a reply never acknowledges a
 *   state that a crash can lose (a request that changes nothing, with nothing pending, is answered at once);
 * - when the actor stops (or is restarted, or passivated), its last state is committed first.
 *
 * {@link tell} and {@link ask} send durable messages: stored in the recipient's inbox before they are
 * acknowledged, handled at least once, deduplicated by id, and marked handled in the same transaction as the
 * state they produced.
 *
 * @example
 * ```ts
 * const counter = Durable.persistent(
 *   Behavior.make(Counter, {
 *     initial: 0,
 *     receive: { Add: (n, { by }) => Effect.succeed(n + by), Get: (n) => Effect.succeed({ state: n, reply: n }) }
 *   }),
 *   { id: "counter-1", state: Schema.Number }
 * )
 * const ref = yield* ActorSystem.spawn(counter, { name: "counter" })
 * yield* Durable.tell(ref, Counter.Add({ by: 2 }), { id: "order-17" }) // stored before this returns
 * ```
 */
import { type Duration, Effect, type Schema } from "effect"
import { type ActorRef, type AskError, InvalidMessage } from "../ActorRef.ts"
import type { ActorContext, Behavior, Handlers } from "../Behavior.ts"
import { askTimeoutMillis } from "../internal/askDeadline.ts"
import { localCell } from "../internal/system.ts"
import * as Protocol from "../Protocol.ts"
import { type AnyHandler, start, systemOf, wrap } from "./internal/durableActor.ts"
import {
  badDurableOptions,
  InvalidDurableOptions,
  NotDurable,
  StateNotDecodable,
  StateVersionUnknown,
  type StorageError
} from "./internal/errors.ts"
import * as Inbox from "./internal/inbox.ts"
import { type Instance, instances, jsonCodec, type StateSpec } from "./internal/instance.ts"
import { internal, Storage } from "./Storage.ts"

export {
  InvalidDurableOptions,
  NotDurable,
  PersistenceIdInUse,
  StateNotDecodable,
  StateVersionUnknown
} from "./internal/errors.ts"

/** The live state of a durable actor, as its cell holds it. */
export interface Persistent<S> {
  readonly persistenceId: string
  /** The state after the last message handled (committed or about to be). */
  readonly latest: S
}

/** How a behaviour's state is stored (see {@link persistent}). */
export interface Options<S, I> {
  /** The persistence id: where the state is stored. One live actor per id. */
  readonly id: string
  /** How the state is stored: its JSON is the schema's encoding. */
  readonly state: Schema.Codec<S, I>
  /** The version of `state`; bump it when the state's shape changes, and add a migration. Default 1. */
  readonly version?: number
  /**
   * Migrations of stored states: `migrations[v]` turns the JSON of a state stored at version `v` into the JSON
   * of version `v + 1`. A state stored at an older version with no path to the current one, or at a newer
   * version, is refused with {@link StateVersionUnknown}; one that does not decode, with
   * {@link StateNotDecodable}. Either way the actor does not start.
   */
  readonly migrations?: { readonly [from: number]: (stored: unknown) => unknown }
}

const DurableKey: unique symbol = Symbol.for("@troupe/runtime/Durable")

interface Marked {
  readonly [DurableKey]: { readonly persistenceId: string }
}

/**
 * The persistence id of the actor whose handler runs (a durable actor's, from its context), if it is durable.
 *
 * @example
 * ```ts
 * Ask: (state, message, ctx) => Effect.gen(function* () {
 *   const id = Durable.idOf(ctx) // "support/customer-42"
 * })
 * ```
 */
export const idOf = (ctx: ActorContext<Protocol.Any>): string | undefined => {
  const cell = localCell(ctx.self)
  return cell === undefined ? undefined : persistenceIdOf(cell.behavior)
}

/** The persistence id of a behaviour made by {@link persistent}, if it is one. */
export const persistenceIdOf = (behavior: Behavior<Protocol.Any, unknown, unknown>): string | undefined =>
  (behavior as Partial<Marked>)[DurableKey]?.persistenceId

/**
 * Makes a behaviour durable under a persistence id (see the module's documentation for what is written
 * when). The behaviour's `init` (if any) runs at every start, for its resources; its state is used only when
 * nothing is stored yet. Children, timers and watches are not stored. Throws {@link InvalidDurableOptions} for an
 * `id`, `version` or `migrations` that is not what it may be (from plain JavaScript or a config file).
 *
 * @example
 * ```ts
 * const cart = Durable.persistent(cartBehavior, {
 *   id: `cart-${userId}`,
 *   state: Cart,
 *   version: 2,
 *   migrations: { 1: (v1: any) => ({ ...v1, currency: "EUR" }) }
 * })
 * ```
 */
export const persistent = <P extends Protocol.Any, S, R, I>(
  behavior: Behavior<P, S, R>,
  options: Options<S, I>
): Behavior<P, Persistent<S>, R | Storage> => {
  const bad = badDurableOptions(options)
  if (bad !== undefined) throw new InvalidDurableOptions({ persistenceId: String(options.id), ...bad })
  const codec = jsonCodec(options.state)
  const spec: StateSpec<S> = {
    persistenceId: options.id,
    version: options.version ?? 1,
    encode: codec.encode,
    decode: codec.decode,
    migrations: options.migrations ?? {}
  }
  const pid = spec.persistenceId
  const inner = behavior as unknown as Behavior<Protocol.Any, S, unknown>
  const receive: Record<string, AnyHandler> = {}
  for (const [tag, handler] of Object.entries(inner.receive as unknown as Record<string, AnyHandler>)) {
    receive[tag] = wrap(handler, Protocol.requestDef(inner.protocol, tag) !== undefined)
  }
  receive[Inbox.InboxTag] = (inst, _message, ctx) => {
    const instance = inst as Instance<S>
    if (instance.failure !== undefined) return Effect.fail(instance.failure)
    return Inbox.read(instance, inner, ctx as ActorContext<Protocol.Any>, systemOf(ctx))
  }
  const onTerminated = inner.onTerminated
  const result = {
    [DurableKey]: { persistenceId: pid },
    protocol: behavior.protocol,
    initial: undefined,
    init: (ctx: ActorContext<P>) => start(spec, inner, ctx),
    receive: receive as unknown as Handlers<P, Persistent<S>, R | Storage>,
    onTerminated:
      onTerminated === undefined
        ? undefined
        : (wrap(onTerminated as unknown as AnyHandler, false) as unknown as Behavior<
            P,
            Persistent<S>,
            R | Storage
          >["onTerminated"]),
    supervision: behavior.supervision
  }
  return result as unknown as Behavior<P, Persistent<S>, R | Storage>
}

// -----------------------------------------------------------------------------------------------------------
// Durable messages
// -----------------------------------------------------------------------------------------------------------

/** Options of a durable message. */
export interface SendOptions {
  /**
   * The message's id: a message sent again with the same id (a retry after a crash or a timeout) is not
   * handled again. A fresh UUID by default, which protects only against redelivery.
   */
  readonly id?: string | undefined
}

/** Why a durable message could not be sent. */
export type SendError = StorageError | NotDurable

/** @internal Refs that are durable targets themselves (entity refs) carry their target under this key. */
export const TargetKey: unique symbol = Symbol.for("@troupe/runtime/Durable/Target")

const targetOf = (ref: ActorRef<Protocol.Any>): Inbox.Target | NotDurable => {
  const given = (ref as unknown as Partial<{ readonly [TargetKey]: Inbox.Target }>)[TargetKey]
  if (given !== undefined) return given
  const cell = localCell(ref)
  const persistenceId = cell === undefined ? undefined : persistenceIdOf(cell.behavior)
  if (cell === undefined || persistenceId === undefined) return new NotDurable({ recipient: `${ref.node}${ref.path}` })
  return {
    persistenceId,
    path: ref.path,
    protocol: ref.protocol,
    system: cell.system,
    poke: Effect.suspend(() => {
      const live = instances(cell.system).get(persistenceId)?.instance
      if (live?.poked) return Effect.void
      if (live !== undefined) live.poked = true
      return Effect.withFiber((fiber) => cell.tell(Inbox.poke, fiber)).pipe(
        Effect.catchCause(() =>
          Effect.sync(() => {
            if (live !== undefined) live.poked = false
          })
        )
      )
    })
  }
}

/**
 * Sends a durable message: it is stored in the recipient's inbox before this returns, and handled at least
 * once (after a crash of the recipient's process, when the actor is back), never twice for one id. The
 * recipient must be a durable actor ({@link persistent}, or an entity) of this node.
 *
 * @example
 * ```ts
 * yield* Durable.tell(account, Account.Deposit({ amount: 10 }), { id: `deposit-${requestId}` })
 * ```
 */
export const tell = <P extends Protocol.Any>(
  ref: ActorRef<P>,
  message: Protocol.Message<P>,
  options?: SendOptions
): Effect.Effect<void, SendError, Storage> =>
  Effect.gen(function* () {
    const target = targetOf(ref as ActorRef<Protocol.Any>)
    if (target instanceof NotDurable) return yield* target
    const { writer } = internal(yield* Storage)
    const id = options?.id ?? crypto.randomUUID()
    yield* Inbox.send(target, message as { _tag: string }, id, undefined, writer).pipe(
      Effect.catchTag("AskTimeout", Effect.die)
    )
  })

/** Options of a durable ask. */
export interface AskOptions extends SendOptions {
  /** How long to wait for the reply (the message stays stored and is handled anyway). Default 5 s. */
  readonly timeout?: Duration.Input
}

/**
 * Sends a durable request and waits for its reply: stored before it is handled, handled at least once and
 * never twice for one id; asking again with the same id (after a timeout, or from a process that restarted)
 * gets the reply of the first handling.
 *
 * @example
 * ```ts
 * const balance = yield* Durable.ask(account, Account.Withdraw({ amount: 5 }), { id: `withdraw-${requestId}` })
 * ```
 */
export const ask = <P extends Protocol.Any, M extends Protocol.Request<P>>(
  ref: ActorRef<P>,
  message: M,
  options?: AskOptions
): Effect.Effect<Protocol.Success<P, M["_tag"]>, Protocol.Failure<P, M["_tag"]> | AskError | SendError, Storage> =>
  Effect.gen(function* () {
    const target = targetOf(ref as ActorRef<Protocol.Any>)
    if (target instanceof NotDurable) return yield* target
    const { writer } = internal(yield* Storage)
    const tag = (message as { readonly _tag: string })._tag
    const timeoutMillis = askTimeoutMillis(options?.timeout, 5_000, target.path, tag)
    if (typeof timeoutMillis !== "number") return yield* timeoutMillis
    const id = options?.id ?? crypto.randomUUID()
    const reply = yield* Inbox.send(target, message as { _tag: string }, id, { timeoutMillis }, writer)
    if (reply._tag === "Invalid") {
      return yield* new InvalidMessage({ recipient: target.path, tag, issue: reply.issue })
    }
    return yield* Inbox.outcome(target.protocol, tag, reply, target.system)
  }) as never
