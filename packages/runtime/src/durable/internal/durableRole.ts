/**
 * One role of a durable session, as its participant keeps it: what the role sent (written to the session's
 * log behind, and kept to send again to a peer that resumed), the results of its `once` effects (committed
 * before they count), and, when the role resumes after its node restarted, what the log holds for it (the
 * messages it was sent, how many it had sent to each peer, its `once` results) so that its program replays
 * them and goes on live where they end.
 */

import type { Choreography as C } from "@troupe/choreography"
import { Cause, Effect, Exit, Schema } from "effect"
import type { SystemImpl } from "../../internal/system.ts"
import type { StorageError } from "./errors.ts"
import { withRefs } from "./instance.ts"
import type { Logged, RoleLog } from "./sessionLog.ts"
import type { SessionStore } from "./sessionStore.ts"

type Choreography = C.Protocol

/** A session message between roles (the participants' `Deliver`). */
export interface Delivery {
  readonly _tag: "Deliver"
  readonly session: string
  readonly seq: number
  readonly from: string
  readonly label: string
  readonly payload: unknown
}

interface PayloadCodec {
  readonly encode: (payload: unknown) => unknown
  readonly decode: (json: unknown) => Exit.Exit<unknown, unknown>
}

const bySchema = new WeakMap<object, PayloadCodec>()
const byMove = new WeakMap<Choreography, Map<string, PayloadCodec | undefined>>()

const isVoid = (schema: Schema.Top): boolean => schema.ast._tag === "Void" || schema.ast._tag === "Undefined"

/**
 * The JSON codec of the payload of `label` from `from` to `to` (made once per schema): what the log keeps of a
 * message is its number, its label and this encoding of its payload.
 */
const payloadCodec = (
  choreography: Choreography,
  from: string,
  to: string,
  label: string
): PayloadCodec | undefined => {
  let moves = byMove.get(choreography)
  if (moves === undefined) byMove.set(choreography, (moves = new Map()))
  const key = `${from}\u0000${to}\u0000${label}`
  if (moves.has(key)) return moves.get(key)
  let schema: Schema.Top | undefined
  for (const state of choreography.machines.get(from)?.states ?? [])
    for (const t of state.transitions)
      if (t.direction === "send" && t.peer === to && t.label === label) schema = t.payload
  let codec: PayloadCodec | undefined
  if (schema !== undefined) {
    codec = bySchema.get(schema)
    if (codec === undefined) {
      if (isVoid(schema)) codec = { encode: () => null, decode: () => Exit.void }
      else {
        const json = Schema.toCodecJson(schema as Schema.Codec<unknown, unknown, never, never>)
        codec = { encode: Schema.encodeSync(json), decode: Schema.decodeUnknownExit(json) }
      }
      bySchema.set(schema, codec)
    }
  }
  moves.set(key, codec)
  return codec
}

/**
 * Messages the log holds from `from` to `to`, as the participants' `Deliver` (payloads decoded, refs resolved).
 * A payload that does not decode throws: the log is not what the protocol says.
 *
 * @example
 * // deliveries(choreography, system, "order-42", "P", "C", [[1, "item", 7]])
 * // -> [{ _tag: "Deliver", session: "order-42", seq: 1, from: "P", label: "item", payload: 7 }]
 */
export const deliveries = (
  choreography: Choreography,
  system: SystemImpl,
  session: string,
  from: string,
  to: string,
  messages: ReadonlyArray<Logged>
): Array<Delivery> =>
  // refs in the payloads resolve on this node (one resolver for them all)
  withRefs(system, () =>
    messages.map(([seq, label, json]): Delivery => {
      const codec = payloadCodec(choreography, from, to, label)
      const decoded =
        codec === undefined ? Exit.fail(`${label} is not a message from ${from} to ${to}`) : codec.decode(json)
      if (Exit.isFailure(decoded)) {
        throw new Error(
          `the durable session ${session} holds a message to ${to} that does not decode: ${Cause.pretty(decoded.cause)}`
        )
      }
      return { _tag: "Deliver", session, seq, from, label, payload: decoded.value }
    })
  )

export class DurableRole {
  readonly store: SessionStore
  readonly session: string
  readonly role: string
  readonly deadlineMillis: number
  private readonly choreography: Choreography
  private readonly system: SystemImpl
  /** How many messages to each peer the log holds (sends up to these are not written again when replayed). */
  private readonly stored: Map<string, number>
  /** Every message sent to each peer, to send again to a peer that resumed. */
  private readonly sent = new Map<string, Array<Delivery>>()
  private readonly onces: Array<unknown>
  private onceCursor = 0
  /** When the coordinator went away, while its return is awaited. */
  coordinatorGone: (() => void) | undefined = undefined

  constructor(options: {
    readonly store: SessionStore
    readonly choreography: Choreography
    readonly session: string
    readonly role: string
    readonly deadlineMillis: number
    readonly system: SystemImpl
    readonly log: RoleLog | undefined
  }) {
    this.store = options.store
    this.choreography = options.choreography
    this.session = options.session
    this.role = options.role
    this.deadlineMillis = options.deadlineMillis
    this.system = options.system
    this.stored = new Map(options.log?.sent ?? [])
    this.onces = [...(options.log?.onces ?? [])]
  }

  /** The messages the log holds for this role, per sender, in order (decoded; refs resolved). */
  inbound(log: RoleLog): ReadonlyMap<string, ReadonlyArray<Delivery>> {
    const out = new Map<string, ReadonlyArray<Delivery>>()
    for (const [from, messages] of log.inbound)
      out.set(from, deliveries(this.choreography, this.system, this.session, from, this.role, messages))
    return out
  }

  /** A message left for `to`: kept (to send again), and written behind unless the log holds it already. */
  sentTo(to: string, message: Delivery): void {
    let list = this.sent.get(to)
    if (list === undefined) this.sent.set(to, (list = []))
    list.push(message)
    if (message.seq <= (this.stored.get(to) ?? 0)) return
    this.stored.set(to, message.seq)
    const codec = payloadCodec(this.choreography, this.role, to, message.label)
    if (codec === undefined) return // the monitor let it through, so this does not happen
    this.store.appendSend(this.session, this.role, to, [message.seq, message.label, codec.encode(message.payload)])
  }

  /** Whether the log holds message `seq` to `to` (a replayed program sends it again). */
  holds(to: string, seq: number): boolean {
    return seq <= (this.stored.get(to) ?? 0)
  }

  /** What to send again to `to`, which resumed having received up to `after`. */
  resend(to: string, after: number): ReadonlyArray<Delivery> {
    return (this.sent.get(to) ?? []).filter((m) => m.seq > after)
  }

  /** The program runs again from its start: its `once` effects are answered from the log again. */
  rewind(): void {
    this.onceCursor = 0
    this.sent.clear()
  }

  /**
   * A `once` effect: its result from the log when it ran before, else run, committed, then returned (not run, failing
   * with `NodeFenced`, once another process took the storage's node name over). Once the effect
   * has run, its commit is not interrupted: an actor stopped meanwhile (its shard moved, it was passivated) waits for
   * it, so that its next incarnation reads the result rather than run the effect again.
   */
  once<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | StorageError, R> {
    return Effect.suspend(() => {
      const k = this.onceCursor++
      if (k < this.onces.length) return Effect.succeed(this.onces[k] as A)
      // a process taken over (fenced) runs no new effect: its successor runs it
      const lost = this.store.lost
      if (lost !== undefined) return Effect.fail(lost)
      return Effect.uninterruptibleMask((restore) =>
        Effect.tap(restore(effect), (value) =>
          Effect.suspend(() => {
            this.onces[k] = value
            return this.store.commitOnce(this.session, this.role, k, JSON.stringify(value ?? null))
          })
        )
      )
    })
  }

  /** Commits that the role completed (with everything it sent), before the coordinator is told. */
  done(result: unknown, trace: unknown): Effect.Effect<void, StorageError> {
    return this.store.commitDone(this.session, this.role, JSON.stringify(result ?? null), JSON.stringify(trace))
  }
}
