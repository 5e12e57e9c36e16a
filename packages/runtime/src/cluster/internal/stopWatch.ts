/**
 * Waiting, from any process of the cluster, for a sharded actor to stop: a request to the actor's runner that
 * activates the actor and is answered when the actor leaves that runner (it stopped, was passivated, or its bucket
 * moved), or after a while with "still there". The starter of a sharded session waits so for the session's
 * coordinator, which stops once the session's end is stored.
 */
import { Deferred, Effect, Schema } from "effect"
import { Rpc } from "effect/rpc"

/** The request's tag among a type's message tags (not a valid protocol tag, so it clashes with none). */
export const tag = "~troupe/Stopped"

/** The request: the actor's id, and how long the runner may wait before it answers "still there". */
export const rpc = (error: Schema.Top) =>
  Rpc.make(tag, {
    payload: { id: Schema.String, millis: Schema.Number },
    success: Schema.Boolean,
    error
  })

/** The runner's side: who waits for which actor to leave this runner. */
export class Waiters {
  private readonly waiting = new Map<string, Set<Deferred.Deferred<void>>>()

  /** The actor `id` left this runner: its waiters are answered. */
  removed(id: string): void {
    const waiters = this.waiting.get(id)
    if (waiters === undefined) return
    this.waiting.delete(id)
    for (const left of waiters) Deferred.doneUnsafe(left, Effect.void)
  }

  /**
   * Runs `wake` (a message that activates the actor `id`, or reaches it if it runs) and waits until the actor
   * leaves this runner (true), or `millis` (false), whichever is first; fails if `wake` fails. The time counts from
   * the request, not from the end of `wake` (which waits for an actor being activated).
   */
  await<E>(id: string, millis: number, wake: Effect.Effect<void, E>): Effect.Effect<boolean, E> {
    return Effect.suspend(() => {
      // registered before the wake: an actor that stops while it is being woken is seen leaving
      const left = Deferred.makeUnsafe<void>()
      let waiters = this.waiting.get(id)
      if (waiters === undefined) this.waiting.set(id, (waiters = new Set()))
      waiters.add(left)
      const forget = Effect.sync(() => {
        waiters.delete(left)
        if (waiters.size === 0 && this.waiting.get(id) === waiters) this.waiting.delete(id)
      })
      const waited = Deferred.await(left).pipe(
        Effect.as(true),
        Effect.timeoutOrElse({ duration: millis, orElse: () => Effect.succeed(false) })
      )
      return Effect.raceFirst(Effect.andThen(wake, Effect.never), waited).pipe(Effect.ensuring(forget))
    })
  }
}
