/**
 * The sender's side of a sharded actor: an `ActorRef` over the engine's entity client, with Troupe's deadline
 * and typed failures (what each engine failure means to the sender).
 */
import { Cause, type Clock, Effect, Exit, Option, Schema } from "effect"
import type { ClusterError } from "effect/cluster"
import {
  type ActorRef,
  type AskError,
  type AskOptions,
  AskTimeout,
  InvalidMessage,
  RequestFailed,
  type TellError,
  TypeId
} from "../../ActorRef.ts"
import { askTimeoutMillis } from "../../internal/askDeadline.ts"
import { ClusterRefs, type Table } from "../../internal/clusterRefs.ts"
import { Deadlines } from "../../internal/deadlines.ts"
import { MailboxFull } from "../../Mailbox.ts"
import type * as Protocol from "../../Protocol.ts"
import { ClusterUnavailable, type Reason } from "../ClusterUnavailable.ts"

/** The engine's client of one entity (a bucket): a function per message tag. */
export type Client = Record<
  string,
  (payload: unknown, options?: { readonly discard?: boolean }) => Effect.Effect<unknown, unknown>
>

/** The deadline of an ask that sets none. */
const DEFAULT_TIMEOUT_MILLIS = 5_000

/**
 * A ref to the sharded actor at `recipient` (its path), whose messages go through `client`; refs in its replies decode
 * by `refs`, its runner's sharded types.
 */
export const make = <P extends Protocol.Any>(
  protocol: P,
  recipient: string,
  id: string,
  client: Client,
  refs: Table
): ActorRef<P> => ({
  [TypeId]: TypeId,
  protocol,
  path: recipient,
  name: id,
  node: "cluster",
  tell: (message) => {
    const tag = (message as { readonly _tag: string })._tag
    return send(recipient, tag, withRefs(client[tag]!({ id, message }, { discard: true }), refs), undefined).pipe(
      // the engine sent the same request again (its own retry after a runner did not answer, or its notify after its
      // storage loop had read a stored message) and found it being handled or handled: the message reached its actor
      Effect.catchIf(isAlreadyProcessing, () => Effect.void)
    ) as Effect.Effect<void, TellError>
  },
  ask: (message, options?: AskOptions) => {
    const tag = (message as { readonly _tag: string })._tag
    const timeoutMillis = askTimeoutMillis(options?.timeout, DEFAULT_TIMEOUT_MILLIS, recipient, tag)
    if (typeof timeoutMillis !== "number") return Effect.fail(timeoutMillis)
    return send(recipient, tag, withRefs(client[tag]!({ id, message }), refs), timeoutMillis) as Effect.Effect<
      never,
      AskError
    >
  }
})

/** A request whose reply decodes refs to sharded actors by `refs` (the engine decodes it in its sender's context). */
const withRefs = (request: Effect.Effect<unknown, unknown>, refs: Table) =>
  Effect.provideService(request, ClusterRefs, refs)

/**
 * Sends through the engine in a fiber of its own (started at once, so a call that completes at once does not
 * wait), so that whatever the engine does to it becomes a typed failure: its errors (and the defects it dies
 * with when it gives up) through {@link fromEngine}, an interruption by the engine (it abandons requests
 * when this process's runner stops) as `ClusterUnavailable` "Shutdown", another defect of an ask as
 * `RequestFailed`. An ask also has a deadline (`AskTimeout`), kept by the runtime's `Deadlines` (one heap and
 * sleeper for every sharded ask of a clock, where `Effect.timeout` would race two fibers, one of them a sleep): it
 * is judged only after the I/O already waiting was read, so a reply that waits unread in the engine's socket when a
 * long turn ends wins over its deadline (a raw timer fires in Node's timers phase, before the sockets are read).
 */
export const send = (
  recipient: string,
  tag: string,
  request: Effect.Effect<unknown, unknown>,
  timeoutMillis: number | undefined
): Effect.Effect<unknown, unknown> =>
  Effect.flatMap(Effect.forkDetach(request, { startImmediately: true }), (fiber) => {
    const ended = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<unknown, unknown> => {
      if (Exit.isSuccess(exit)) return exit
      if (Cause.hasInterruptsOnly(exit.cause)) return Effect.fail(stopped(recipient, tag))
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isSome(error)) return Effect.fail(fromEngine(recipient, tag, error.value))
      const defect = Cause.squash(exit.cause)
      if (isEngineError(defect)) return Effect.fail(fromEngine(recipient, tag, defect))
      const invalid = undecodable(recipient, tag, defect)
      if (invalid !== undefined) return Effect.fail(invalid)
      return timeoutMillis === undefined
        ? exit
        : Effect.fail(new RequestFailed({ recipient, tag, cause: Cause.pretty(exit.cause) }))
    }
    const done = fiber.pollUnsafe()
    if (done !== undefined) return ended(done)
    const wait = (deadlines: Deadlines | undefined) =>
      Effect.callback<unknown, unknown>((resume) => {
        const deadline =
          deadlines === undefined || timeoutMillis === undefined
            ? undefined
            : deadlines.schedule(deadlines.now() + timeoutMillis, () => {
                removeObserver()
                fiber.interruptUnsafe()
                resume(Effect.fail(new AskTimeout({ recipient, tag, timeoutMillis })))
              })
        const removeObserver = fiber.addObserver((exit) => {
          if (deadline !== undefined) deadlines!.cancel(deadline)
          resume(ended(exit))
        })
        return Effect.sync(() => {
          if (deadline !== undefined) deadlines!.cancel(deadline)
          removeObserver()
          fiber.interruptUnsafe()
        })
      })
    return timeoutMillis === undefined ? wait(undefined) : Effect.clockWith((clock) => wait(deadlinesOf(clock)))
  })

/**
 * The deadlines of sharded asks, one `Deadlines` per clock (a `TestClock` drives its own). Nothing closes them, so
 * their sleeper stops when no ask waits: else its timer would keep a finished process alive until the last deadline.
 */
const deadlinesByClock = new WeakMap<Clock.Clock, Deadlines>()

const deadlinesOf = (clock: Clock.Clock): Deadlines => {
  let deadlines = deadlinesByClock.get(clock)
  if (deadlines === undefined) {
    deadlines = new Deadlines(clock, (effect) => Effect.runFork(effect), true)
    deadlinesByClock.set(clock, deadlines)
  }
  return deadlines
}

const unavailable: ReadonlySet<string> = new Set<Reason>([
  "PersistenceError",
  "EntityNotAssignedToRunner",
  "RunnerUnavailable",
  "RunnerNotRegistered",
  "AlreadyProcessingMessage"
])

type EngineError =
  | ClusterError.MailboxFull
  | ClusterError.MalformedMessage
  | ClusterError.PersistenceError
  | ClusterError.EntityNotAssignedToRunner
  | ClusterError.RunnerUnavailable
  | ClusterError.RunnerNotRegistered
  | ClusterError.AlreadyProcessingMessage

/** A tell's `AlreadyProcessingMessage`: its request reached the actor (see `tell` in {@link make}). */
const isAlreadyProcessing = (error: unknown): boolean =>
  error instanceof ClusterUnavailable && error.reason === "AlreadyProcessingMessage"

/** The mark every Effect Cluster error carries (the module does not export it). */
const engineErrorMark = "~effect/cluster/ClusterError"

const isEngineError = (u: unknown): u is EngineError => typeof u === "object" && u !== null && engineErrorMark in u

/** The name a `MalformedMessage` has once it crossed the wire (a defect travels as a plain `Error`, its name kept). */
const malformedName = `${engineErrorMark}/MalformedMessage`

/**
 * A defect that says a message or its reply did not decode, as `InvalidMessage`: the engine's `MalformedMessage` from
 * the runner the message went to (it did not decode there: a ref to a sharded type that runner does not host), which
 * comes back as a plain `Error` named after it with the schema's issue as its cause; or a reply that did not decode
 * here (the engine dies with its `SchemaError`), named `reply to <tag>` as the transport names it.
 */
const undecodable = (recipient: string, tag: string, defect: unknown): InvalidMessage | undefined => {
  if (Schema.isSchemaError(defect))
    return new InvalidMessage({ recipient, tag: `reply to ${tag}`, issue: defect.message })
  if (defect instanceof Error && defect.name === malformedName)
    return new InvalidMessage({ recipient, tag, issue: describe(defect.cause ?? defect) })
  return undefined
}

/**
 * What a failure of the engine means to the sender: `MailboxFull`, `InvalidMessage` (the message did not
 * encode or decode), or `ClusterUnavailable` naming the engine's reason. Other failures (the request's
 * declared failure, Troupe's own) pass as they are.
 */
const fromEngine = (recipient: string, tag: string, error: unknown): unknown => {
  if (!isEngineError(error)) return error
  if (error._tag === "MailboxFull") return new MailboxFull({ recipient, capacity: 0, tag })
  if (error._tag === "MalformedMessage") return new InvalidMessage({ recipient, tag, issue: describe(error.cause) })
  if (!unavailable.has(error._tag)) return error
  return new ClusterUnavailable({
    recipient,
    tag,
    reason: error._tag,
    retryable: error._tag !== "AlreadyProcessingMessage",
    detail: detailOf(error)
  })
}

const detailOf = (error: Exclude<EngineError, ClusterError.MailboxFull | ClusterError.MalformedMessage>): string => {
  switch (error._tag) {
    case "PersistenceError":
      return `the cluster's database refused it: ${describe(error.cause)}`
    case "EntityNotAssignedToRunner":
      return `no runner holds ${String(error.address)} now (a rebalance, or the runner is stopping)`
    case "RunnerUnavailable":
      return `runner ${error.address.toString()} does not answer`
    case "RunnerNotRegistered":
      return `runner ${error.address.toString()} is not registered`
    case "AlreadyProcessingMessage":
      return "the engine sent this request again and found it being handled: its reply will not come back on this path (do not send it again: it would be handled twice)"
  }
}

/** A failure's text with what caused it, when it carries that (the database's own words for a `SqlError`). */
const describe = (cause: unknown): string => {
  if (!(cause instanceof Error)) return String(cause)
  const inner = (cause as { readonly reason?: { readonly cause?: unknown } }).reason?.cause ?? cause.cause
  return inner instanceof Error && inner.message !== cause.message
    ? `${cause.message} (${inner.message})`
    : cause.message
}

/** The engine abandoned the request: this process's runner or client is stopping, or has stopped. */
const stopped = (recipient: string, tag: string) =>
  new ClusterUnavailable({
    recipient,
    tag,
    reason: "Shutdown",
    retryable: false,
    detail: "this process's cluster runner or client has stopped (a durable message is kept for the shard's next owner)"
  })
