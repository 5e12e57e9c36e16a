/**
 * Admission of sessions to their joins: how many sessions of one actor system may be joining their roles at once.
 *
 * A session's join is the part whose deadline runs while it waits for others (each Join is an ask, under the system's
 * ask timeout, queued behind whatever its participant has to do). Under overload an unbounded number of joins in
 * flight makes every one of them wait behind all the others, so that nearly all miss their deadline (congestion
 * collapse). So `Session.start` first takes a place among the sessions joining (at most the system's
 * `maxJoiningSessions`, 256 by default); when none is free it waits in line, in order, at most the system's ask
 * timeout, and then fails with `SessionOverloaded` before any work is done for it (no coordinator, no Join). A session leaves the joining once every role has answered
 * (or the session ended first), and the next in line goes in: its Join's deadline starts then.
 *
 * Durable and sharded sessions share the line with plain ones (their joins are retried until the session's deadline,
 * so unbounded they would all be asking at once). `DurableSession.start` takes a place before the session is stored,
 * waiting in line at most the session's own deadline (refused: nothing is stored); a durable session holds its place
 * until it began (its roles answered the Join that says so, asked again until its deadline too). A session stored already
 * (recovered after its node restarted, or a sharded session, whose starter stores it and whose coordinator runs on
 * whichever runner the cluster picks) has its coordinator wait in line on its own node for as long as it takes
 * (`timeoutMillis` infinite): it cannot be refused without storing its end, and the line moves, since every session
 * admitted leaves it within its deadline.
 */
import { Effect } from "effect"
import type { Deadline, Deadlines } from "../../internal/deadlines.ts"
import { Deque } from "../../internal/deque.ts"
import type { SystemImpl } from "../../internal/system.ts"
import { SessionOverloaded } from "./sessionErrors.ts"

/** A session waiting in line for a place among those joining: its own deadline in the system's heap. */
class Waiter implements Deadline {
  at = 0
  index = -1
  done = false
  readonly admission: Admission
  readonly resume: (effect: Effect.Effect<void, SessionOverloaded>) => void
  readonly protocol: string
  readonly session: string
  readonly since: number
  readonly admitted: (() => void) | undefined

  constructor(
    admission: Admission,
    protocol: string,
    session: string,
    resume: (effect: Effect.Effect<void, SessionOverloaded>) => void,
    admitted: (() => void) | undefined
  ) {
    this.admission = admission
    this.protocol = protocol
    this.session = session
    this.resume = resume
    this.admitted = admitted
    this.since = admission.deadlines.now()
  }

  /** It waited its whole deadline in line: refused, typed, and nothing was done for it. */
  fire(): void {
    if (this.done) return
    this.done = true
    this.admission.waiting--
    this.resume(
      Effect.fail(
        new SessionOverloaded({
          protocol: this.protocol,
          session: this.session,
          joining: this.admission.joining,
          waiting: this.admission.waiting,
          waitedMillis: Math.round(this.admission.deadlines.now() - this.since)
        })
      )
    )
  }
}

/**
 * The sessions of one actor system joining their roles, and those waiting in line to (see the module's comment).
 *
 * @example
 * const admission = Admission.of(system)
 * yield* admission.admit("TwoBuyer", id) // fails with SessionOverloaded after the system's ask timeout in line
 * yield* admission.admit("Ledger", id, 30_000) // a durable session: at most its deadline in line
 * // ... the coordinator joins the roles, then:
 * admission.release()
 */
export class Admission {
  /** Sessions joining (admitted, and not every role answered yet). */
  joining = 0
  /** Sessions waiting in line (not counting those that gave up or timed out). */
  waiting = 0
  /** How many may be joining at once (the system's `maxJoiningSessions`). */
  readonly limit: number
  readonly deadlines: Deadlines
  private readonly timeoutMillis: number
  private readonly line = new Deque<Waiter>()

  constructor(deadlines: Deadlines, timeoutMillis: number, limit: number) {
    this.deadlines = deadlines
    this.timeoutMillis = timeoutMillis
    this.limit = limit
  }

  /** The admission of `system`'s sessions (made when first used). */
  static of(system: SystemImpl): Admission {
    return system.extension(
      key,
      () => new Admission(system.deadlines, system.askTimeoutMillis, system.settings.maxJoiningSessions)
    )
  }

  /**
   * Takes a place among the sessions joining: at once when one is free and nobody waits before, else in line, in
   * order, until one is (then the session's joins start) or its deadline passes (`SessionOverloaded`): the system's
   * ask timeout unless `timeoutMillis` says otherwise (`Infinity`: no deadline, it waits until a place is free).
   * `admitted` is called when the place is taken, in the same call (so that a fiber interrupted just then cannot
   * lose it: whoever holds the place must `release` it).
   */
  admit(
    protocol: string,
    session: string,
    timeoutMillis: number = this.timeoutMillis,
    admitted?: () => void
  ): Effect.Effect<void, SessionOverloaded> {
    if (this.joining < this.limit && this.waiting === 0) {
      this.joining++
      admitted?.()
      return Effect.void
    }
    return Effect.callback<void, SessionOverloaded>((resume) => {
      // (room may have been made since the effect was made)
      if (this.joining < this.limit && this.waiting === 0) {
        this.joining++
        admitted?.()
        resume(Effect.void)
        return
      }
      const waiter = new Waiter(this, protocol, session, resume, admitted)
      if (Number.isFinite(timeoutMillis)) {
        waiter.at = waiter.since + timeoutMillis
        this.deadlines.add(waiter)
      }
      this.line.push(waiter)
      this.waiting++
      return Effect.sync(() => {
        if (waiter.done) return
        waiter.done = true
        this.waiting--
        this.deadlines.cancel(waiter)
        this.admitWaiting()
      })
    })
  }

  /** A session admitted is done joining (every role answered, or it ended first): the next in line goes in. */
  release(): void {
    this.joining--
    this.admitWaiting()
  }

  private admitWaiting(): void {
    while (this.joining < this.limit && this.line.length > 0) {
      const waiter = this.line.shift()!
      if (waiter.done) continue
      waiter.done = true
      this.waiting--
      this.deadlines.cancel(waiter)
      this.joining++
      waiter.admitted?.()
      waiter.resume(Effect.void)
    }
  }
}

const key = { name: "@troupe/runtime/Session/admission" }
