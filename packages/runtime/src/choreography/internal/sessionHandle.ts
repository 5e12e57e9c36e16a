/**
 * A running session as its starter holds it (`Session.Handle`): one object whose `await` and `abort` are made
 * when they are read, and one finalizer in the starter's scope, so that a live session keeps no closures for them.
 */
import type { Choreography } from "@troupe/choreography"
import { Deferred, Effect } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import type { Completed } from "./coordination.ts"
import type { SessionAborted } from "./sessionErrors.ts"
import type { CoordinatorProtocol } from "./sessionProtocols.ts"

/**
 * The handle of session `id` (see `Session.start`).
 *
 * @example
 * // const handle = new SessionHandle(id, protocol, undefined, coordinator, outcome)
 * // yield* handle.await; yield* handle.abort("no longer needed")
 */
export class SessionHandle<Results> {
  readonly id: string
  readonly protocol: string
  /** The protocol with families the session is an instance of (its results are listed by family), if it is one. */
  private readonly families: Choreography.Protocol | undefined
  private readonly coordinator: ActorRef<CoordinatorProtocol>
  private readonly outcome: Deferred.Deferred<Completed<Record<string, unknown>>, SessionAborted>

  constructor(
    id: string,
    protocol: string,
    families: Choreography.Protocol | undefined,
    coordinator: ActorRef<CoordinatorProtocol>,
    outcome: Deferred.Deferred<Completed<Record<string, unknown>>, SessionAborted>
  ) {
    this.id = id
    this.protocol = protocol
    this.families = families
    this.coordinator = coordinator
    this.outcome = outcome
  }

  get await(): Effect.Effect<Completed<Results>, SessionAborted> {
    const completed = Deferred.await(this.outcome)
    const families = this.families
    return (
      families === undefined
        ? completed
        : Effect.map(completed, (done) => ({ ...done, results: byFamily(families, done.results) }))
    ) as Effect.Effect<Completed<Results>, SessionAborted>
  }

  get abort(): (reason?: string) => Effect.Effect<void> {
    return (reason = "aborted by its starter") => this.cancel(reason)
  }

  private cancel(reason: string): Effect.Effect<void> {
    return this.coordinator
      .tell({ _tag: "Cancel", reason })
      .pipe(Effect.catchCause((cause) => Effect.logError("Could not cancel the session", cause)))
  }

  /** The starter's scope closed: a session that has not ended is cancelled. */
  closed(): Effect.Effect<void> {
    return Effect.suspend(() =>
      Deferred.isDoneUnsafe(this.outcome) ? Effect.void : this.cancel("the scope that started it closed")
    )
  }
}

/** A family's results as one list, in member order. */
const byFamily = (
  protocol: Choreography.Protocol,
  results: Readonly<Record<string, unknown>>
): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [role, result] of Object.entries(results)) {
    const member = /^(.*)\[(\d+)\]$/.exec(role)
    if (member === null || !protocol.families.has(member[1]!)) out[role] = result
    else ((out[member[1]!] ??= []) as Array<unknown>)[Number(member[2])] = result
  }
  return out
}

/** The finalizer of a session in its starter's scope: a closure over the handle alone. */
export const onClose = (handle: SessionHandle<unknown>) => () => handle.closed()
