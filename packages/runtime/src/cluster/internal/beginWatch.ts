/**
 * The places sharded sessions' starters hold among the sessions joining on their system (see `ShardedSession.start`)
 * until their session began: its coordinator runs on whichever runner the cluster picks, so the starter learns it
 * from the storage, where the coordinator stores that the session began (or its end). One read every
 * {@link WATCH_MILLIS} for all the places of a storage, while any is held; a place is given back at the session's
 * deadline in any case (a storage that cannot be read holds no place for longer).
 */
import { Effect } from "effect"
import type { StarterPlace } from "../../choreography/internal/durableAdmission.ts"
import type { SessionStore } from "../../durable/internal/sessionStore.ts"

/** How often the storage is read while a starter holds a place. */
export const WATCH_MILLIS = 100

/** The most sessions one read asks about. */
const READ = 500

class BeginWatch {
  /** The places held, and when each is given back at the latest (epoch ms). */
  private readonly places = new Map<StarterPlace, number>()
  private running = false
  private readonly store: SessionStore

  constructor(store: SessionStore) {
    this.store = store
  }

  add(place: StarterPlace, deadlineMillis: number): void {
    this.places.set(place, Date.now() + deadlineMillis)
    if (this.running) return
    this.running = true
    Effect.runFork(this.loop)
  }

  private readonly loop: Effect.Effect<void> = Effect.suspend(() => {
    const watch = this
    return Effect.gen(function* () {
      for (;;) {
        yield* Effect.sleep(WATCH_MILLIS)
        const now = Date.now()
        for (const [place, until] of watch.places) {
          if (!place.held) watch.places.delete(place)
          else if (now >= until) {
            place.release()
            watch.places.delete(place)
          }
        }
        if (watch.places.size === 0) {
          watch.running = false
          return
        }
        const bySession = new Map<string, StarterPlace>()
        for (const place of watch.places.keys()) bySession.set(place.session, place)
        const sessions = [...bySession.keys()]
        for (let i = 0; i < sessions.length; i += READ) {
          const gone = yield* watch.store
            .begunOrGone(sessions.slice(i, i + READ))
            .pipe(
              Effect.catchCause((cause) =>
                Effect.as(
                  Effect.logWarning(
                    "Could not read whether sharded sessions began; their starters hold their places until the next read (at most until their deadlines)",
                    cause
                  ),
                  new Set<string>()
                )
              )
            )
          for (const session of gone) {
            const place = bySession.get(session)!
            place.release()
            watch.places.delete(place)
          }
        }
      }
    })
  })
}

const watches = new WeakMap<SessionStore, BeginWatch>()

/**
 * Gives `place` back once the storage of `store` says its session began or ended, or after `deadlineMillis`.
 *
 * @example
 * // after the session is stored and its coordinator woken:
 * // BeginWatch.release(store, place, deadlineMillis)
 */
export const releaseWhenBegun = (store: SessionStore, place: StarterPlace, deadlineMillis: number): void => {
  let watch = watches.get(store)
  if (watch === undefined) watches.set(store, (watch = new BeginWatch(store)))
  watch.add(place, deadlineMillis)
}
