/**
 * The lease of a durable session whose roles have no death watch (sharded actors: the cluster moves and
 * reactivates them without telling anyone). While the session runs, its coordinator asks each role still in it
 * to join again every `everyMillis`. A participant that holds the session answers at once; one that does not
 * (its actor was reactivated on another runner, or passivated and activated again) resumes the role from the
 * session's durable log and says so, and the role's peers then send it again what they sent it. A role not
 * reached for `deadlineMillis` is lost. A role whose join fails or goes unanswered for a lease period is unreachable
 * until it answers: the Joins to the other roles say so, and their step deadlines do not count meanwhile.
 */
import { Clock, Duration, Effect, Exit, Fiber, Option } from "effect"

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
  /** The role was not reached for `waitedMillis` (at least the deadline). */
  readonly lost: (role: string, waitedMillis: number) => Effect.Effect<void>
}

const liveClock = Clock.Clock.defaultValue()

/** Holds every role of the lease until each has ended or is lost (run it in a fiber of the coordinator). */
export const hold = (lease: Lease): Effect.Effect<void> =>
  Effect.forEach(lease.roles, (role) => holdOne(lease, role), { concurrency: "unbounded", discard: true }).pipe(
    Effect.provideService(Clock.Clock, liveClock)
  )

/** One join at a time per role: a slow one (the role reading its log) is waited for, up to the deadline. */
const holdOne = (lease: Lease, role: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    let reached = Date.now()
    for (;;) {
      yield* Effect.sleep(Duration.millis(lease.everyMillis))
      if (!lease.holds(role)) return
      const join = yield* Effect.forkChild(
        Effect.exit(lease.join(role, Math.max(1, lease.deadlineMillis - (Date.now() - reached))))
      )
      // unanswered for a lease period: unreachable until it answers
      const early = yield* Effect.timeoutOption(Fiber.join(join), Duration.millis(lease.everyMillis))
      if (Option.isNone(early)) lease.reach(role, false)
      const exit = Option.isSome(early) ? early.value : yield* Fiber.join(join)
      lease.reach(role, Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) {
        reached = Date.now()
        if (exit.value && lease.holds(role)) yield* lease.resumed(role)
      } else if (Date.now() - reached >= lease.deadlineMillis) {
        if (lease.holds(role)) yield* lease.lost(role, Date.now() - reached)
        return
      }
    }
  })
