/**
 * The lease of a durable session whose roles have no death watch (sharded actors: the cluster moves and
 * reactivates them without telling anyone), or are on other nodes (a node may stall or lose its link without
 * restarting: no death watch tells when it is back). While the session runs, its coordinator asks each role still in it
 * to join again every `everyMillis`. A participant that holds the session answers at once; one that does not
 * (its actor was reactivated on another runner, or passivated and activated again) resumes the role from the
 * session's durable log and says so, and the role's peers then send it again what they sent it. A role not
 * reached for `deadlineMillis` is lost (a sharded one; a watched one is held on: its death watch ends the session). A
 * role whose join fails or goes unanswered for a lease period is unreachable
 * until it answers: the Joins to the other roles say so, and their step deadlines do not count meanwhile.
 */
import { Clock, Deferred, Duration, Effect, Exit, Fiber, Option } from "effect"

export interface Lease {
  readonly roles: ReadonlyArray<string>
  readonly everyMillis: number
  readonly deadlineMillis: number
  /** Whether the role is still held (the session runs and the role has not ended). */
  readonly holds: (role: string) => boolean
  /** Asks the role to join again, waiting up to `timeoutMillis`; true when it resumed from the log. */
  readonly join: (role: string, timeoutMillis: number) => Effect.Effect<boolean, unknown>
  /**
   * Whether the role is reachable now: not when a join failed or went unanswered for a lease period (its runner died,
   * its shard has no owner yet); again once it answers.
   */
  readonly reach: (role: string, reachable: boolean) => void
  /** The role resumed from the log. */
  readonly resumed: (role: string) => Effect.Effect<void>
  /**
   * The role was not reached for `waitedMillis` (at least the deadline). Without it, the role is held on (something
   * else bounds the wait: a death watch).
   */
  readonly lost?: ((role: string, waitedMillis: number) => Effect.Effect<void>) | undefined
}

const liveClock = Clock.Clock.defaultValue()

/**
 * How often the coordinator of a session with a `deadlineMillis` asks each role to join again: a tenth of the
 * deadline, between 0.1 and 1 s.
 *
 * @example
 * periodOf(30_000) // 1000
 */
export const periodOf = (deadlineMillis: number): number => Math.min(1000, Math.max(100, deadlineMillis / 10))

/**
 * Holds every role of the lease until each has ended or is lost (run it in a fiber of the coordinator). When a role's
 * reach changes, the others are asked at once, so that their step deadlines follow without waiting for their period.
 */
export const hold = (lease: Lease): Effect.Effect<void> =>
  Effect.suspend(() => {
    const changes = new Changes()
    return Effect.forEach(lease.roles, (role) => holdOne(lease, role, changes), {
      concurrency: "unbounded",
      discard: true
    })
  }).pipe(Effect.provideService(Clock.Clock, liveClock))

/** A role's reach changed: the roles waiting for their next join are woken. */
class Changes {
  private next = Deferred.makeUnsafe<void>()
  /** Waits for the next change. */
  get await(): Effect.Effect<void> {
    return Deferred.await(this.next)
  }
  changed(): void {
    const woken = this.next
    this.next = Deferred.makeUnsafe<void>()
    Deferred.doneUnsafe(woken, Effect.void)
  }
}

/** One join at a time per role: a slow one (the role reading its log) is waited for, up to the deadline. */
const holdOne = (lease: Lease, role: string, changes: Changes): Effect.Effect<void> =>
  Effect.gen(function* () {
    let reached = Date.now()
    let reachable = true
    const reach = (now: boolean) => {
      lease.reach(role, now)
      if (now === reachable) return
      reachable = now
      changes.changed()
    }
    for (;;) {
      yield* Effect.raceFirst(Effect.sleep(Duration.millis(lease.everyMillis)), changes.await)
      if (!lease.holds(role)) return
      const join = yield* Effect.forkChild(
        Effect.exit(lease.join(role, Math.max(1, lease.deadlineMillis - (Date.now() - reached))))
      )
      // unanswered for a lease period: unreachable until it answers
      const early = yield* Effect.timeoutOption(Fiber.join(join), Duration.millis(lease.everyMillis))
      if (Option.isNone(early)) reach(false)
      const exit = Option.isSome(early) ? early.value : yield* Fiber.join(join)
      reach(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) {
        reached = Date.now()
        if (exit.value && lease.holds(role)) yield* lease.resumed(role)
      } else if (Date.now() - reached >= lease.deadlineMillis) {
        // without `lost` it is held on: its next joins may wait a deadline again
        if (lease.lost === undefined) reached = Date.now()
        else {
          if (lease.holds(role)) yield* lease.lost(role, Date.now() - reached)
          return
        }
      }
    }
  })
