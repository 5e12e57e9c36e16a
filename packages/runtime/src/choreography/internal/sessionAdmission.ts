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
 *
 * Taking a place costs its caller little: a session goes on in its caller's call only while a place is free, nobody
 * waits (in line or to be resumed) and the current turn of the event loop has not yet spent {@link TURN_MILLIS} on
 * sessions going on so (the budget opens with the turn's first such session and ends with the turn); any other
 * session suspends, and the sessions given a place (or refused) are resumed by the admission's own dispatcher, in
 * turns of the event loop of at most {@link TURN_MILLIS} each. A lone session so starts at once (no turn of the loop
 * lost), and a caller that starts 10,000 sessions at once (`Effect.forEach` with `concurrency: "unbounded"` runs each
 * child's first slice in its own call, back to back) pays the first few milliseconds' worth of sessions in that call
 * and a few microseconds for each of the others: each lines up and suspends before any work is done for it (no
 * coordinator, no projection, no encoding), and the work of those admitted runs later, a turn's worth at a time, with
 * the loop turning in between (heartbeats, replies, other actors). Before, each session's first slice spawned its
 * coordinator and sent its Joins in the caller's call, and 10,000 of them kept the loop from turning for seconds: long
 * enough on a loaded host for the participants' node to declare this one down.
 */
import { Effect } from "effect"
import type { Deadline, Deadlines } from "../../internal/deadlines.ts"
import { Deque } from "../../internal/deque.ts"
import type { SystemImpl } from "../../internal/system.ts"
import { SessionOverloaded } from "./sessionErrors.ts"

/**
 * How long one turn of the dispatcher may resume sessions (whose first steps run in its call) before it hands the
 * event loop back and goes on in the next turn.
 */
export const TURN_MILLIS = 5

/** A session in line: waiting for a place, then holding one (or refused) until the dispatcher resumes it. */
const WAITING = 0
const READY = 1
const DONE = 2

/** What a session does once it has its place (see {@link Admission.enter}), made when it is resumed. */
type Next = () => Effect.Effect<unknown, unknown, unknown>

/**
 * A session in line, and all a session waiting there holds (the line is where a burst of 10,000 sessions waits, so
 * it is kept to one object, the callback's closure and its cancel): its own deadline in the system's heap.
 */
class Waiter implements Deadline {
  at = 0
  index = -1
  state: typeof WAITING | typeof READY | typeof DONE = WAITING
  /** Why it was refused, if it was (else it was given a place). */
  refusal: SessionOverloaded | undefined = undefined
  resume: (effect: Effect.Effect<unknown, unknown, unknown>) => void = ignore
  readonly admission: Admission
  readonly protocol: string
  readonly session: string
  readonly since: number
  readonly admitted: (() => void) | undefined
  readonly next: Next | undefined

  constructor(
    admission: Admission,
    protocol: string,
    session: string,
    admitted: (() => void) | undefined,
    next: Next | undefined
  ) {
    this.admission = admission
    this.protocol = protocol
    this.session = session
    this.admitted = admitted
    this.next = next
    this.since = admission.deadlines.now()
  }

  /** It waited its whole deadline in line: refused, typed, and nothing was done for it. */
  fire(): void {
    if (this.state !== WAITING) return
    const admission = this.admission
    admission.waiting--
    admission.stale++
    this.refusal = new SessionOverloaded({
      protocol: this.protocol,
      session: this.session,
      joining: admission.joining,
      waiting: admission.waiting,
      waitedMillis: Math.round(admission.deadlines.now() - this.since)
    })
    admission.toResume(this)
    admission.compact()
  }
}

const ignore = () => {}

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
  /** Sessions joining (given a place, and not every role answered yet). */
  joining = 0
  /** Sessions waiting in line for a place (not counting those that gave up or timed out). */
  waiting = 0
  /** Entries of the line that no longer wait (gave up or timed out), dropped when they are many. */
  stale = 0
  /** How many may be joining at once (the system's `maxJoiningSessions`). */
  readonly limit: number
  readonly deadlines: Deadlines
  private readonly timeoutMillis: number
  /** Waiting for a place, in order. */
  private readonly line = new Deque<Waiter>()
  /** Given a place or refused, in order: resumed by the dispatcher's next turn. */
  private readonly resumable = new Deque<Waiter>()
  private scheduled = false
  /** When this turn's budget for sessions going on in their callers' calls ends (-1: not opened in this turn). */
  private budgetUntil = -1

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
   * It goes on in the caller's call when a place is free, nobody waits and this turn's budget is not spent; else the
   * caller is resumed by the dispatcher, in a later turn of the event loop (see the module's comment). `admitted` is called when the place is taken (so that a fiber interrupted before it is resumed cannot
   * lose it: whoever holds the place must `release` it; without `admitted`, an interrupted caller gives it back).
   */
  admit(
    protocol: string,
    session: string,
    timeoutMillis: number = this.timeoutMillis,
    admitted?: () => void
  ): Effect.Effect<void, SessionOverloaded> {
    return this.wait(protocol, session, timeoutMillis, admitted, undefined) as Effect.Effect<void, SessionOverloaded>
  }

  /**
   * `admit` (with the system's ask timeout), then `next` once the session has its place: made and run when the
   * dispatcher resumes it, so that a session waiting in line holds nothing of what it will do (see the module's
   * comment). Interrupted before it is resumed, the place it was given goes back.
   *
   * @example
   * Effect.flatMap(ActorSystem, (system) =>
   *   Admission.of(internal(system)).enter("TwoBuyer", id, () => Effect.uninterruptible(spawnCoordinator)))
   */
  enter<A, E, R>(
    protocol: string,
    session: string,
    next: () => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | SessionOverloaded, R> {
    return this.wait(protocol, session, this.timeoutMillis, undefined, next as Next) as Effect.Effect<
      A,
      E | SessionOverloaded,
      R
    >
  }

  private wait(
    protocol: string,
    session: string,
    timeoutMillis: number,
    admitted: (() => void) | undefined,
    next: Next | undefined
  ): Effect.Effect<unknown, unknown, unknown> {
    return Effect.suspend(() => {
      if (!this.inline()) return this.suspended(protocol, session, timeoutMillis, admitted, next)
      this.joining++
      admitted?.()
      return next === undefined ? Effect.void : next()
    })
  }

  /**
   * Whether a session may take its place and go on in its caller's call: a place is free, nobody waits for one or to
   * be resumed (a session never overtakes another), and this turn of the event loop has not yet spent its
   * {@link TURN_MILLIS} on sessions going on in their callers' calls. The turn's budget starts with its first such
   * session and ends with the turn (`setImmediate`), so a lone session starts at once, and a burst in one call goes on
   * inline for the first few milliseconds' worth and then lines up for the dispatcher.
   */
  private inline(): boolean {
    if (this.joining >= this.limit || this.waiting > 0 || this.resumable.length > 0) return false
    const now = performance.now()
    if (this.budgetUntil < 0) {
      this.budgetUntil = now + TURN_MILLIS
      setImmediate(this.endBudget)
      return true
    }
    return now < this.budgetUntil
  }

  /** The turn whose inline budget was opened ended: the next turn has its own. */
  private readonly endBudget = (): void => {
    this.budgetUntil = -1
  }

  /** Takes a place in line (or one free, to be resumed by the dispatcher), suspended until resumed. */
  private suspended(
    protocol: string,
    session: string,
    timeoutMillis: number,
    admitted: (() => void) | undefined,
    next: Next | undefined
  ): Effect.Effect<unknown, unknown, unknown> {
    return Effect.callback<unknown, unknown, unknown>((resume) => {
      const waiter = new Waiter(this, protocol, session, admitted, next)
      waiter.resume = resume
      if (this.joining < this.limit && this.waiting === 0) this.take(waiter)
      else {
        if (Number.isFinite(timeoutMillis)) {
          waiter.at = waiter.since + timeoutMillis
          this.deadlines.add(waiter)
        }
        this.line.push(waiter)
        this.waiting++
      }
      return Effect.sync(() => this.cancel(waiter))
    })
  }

  /** A session admitted is done joining (every role answered, or it ended first): the next in line goes in. */
  release(): void {
    this.joining--
    this.admitWaiting()
  }

  /** `waiter` was given a place or refused: the dispatcher resumes it in its next turn. */
  toResume(waiter: Waiter): void {
    waiter.state = READY
    this.resumable.push(waiter)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.turn)
  }

  /** One turn of the dispatcher: resumes sessions in order until none is left or the turn's time is up. */
  private readonly turn = (): void => {
    this.scheduled = false
    const until = performance.now() + TURN_MILLIS
    for (let waiter = this.resumable.shift(); waiter !== undefined; waiter = this.resumable.shift()) {
      if (waiter.state !== READY) continue
      waiter.state = DONE
      // (the session's first steps run in this call, up to its next wait)
      const resume = waiter.resume
      waiter.resume = ignore
      if (waiter.refusal !== undefined) resume(Effect.fail(waiter.refusal))
      else resume(waiter.next === undefined ? Effect.void : Effect.suspend(waiter.next))
      if (this.resumable.length > 0 && performance.now() >= until) {
        if (!this.scheduled) {
          this.scheduled = true
          setImmediate(this.turn)
        }
        return
      }
    }
  }

  /** Gives `waiter` a place. */
  private take(waiter: Waiter): void {
    this.joining++
    waiter.admitted?.()
    this.toResume(waiter)
  }

  /** The caller stopped waiting (interrupted): it leaves the line, or gives back the place it was given. */
  private cancel(waiter: Waiter): void {
    const state = waiter.state
    waiter.state = DONE
    waiter.resume = ignore
    if (state === WAITING) {
      this.waiting--
      this.stale++
      this.deadlines.cancel(waiter)
      this.admitWaiting()
    } else if (state === READY && waiter.refusal === undefined && waiter.admitted === undefined) this.release()
  }

  private admitWaiting(): void {
    while (this.joining < this.limit && this.line.length > 0) {
      const waiter = this.line.shift()!
      if (waiter.state !== WAITING) {
        this.stale--
        continue
      }
      this.waiting--
      this.deadlines.cancel(waiter)
      this.take(waiter)
    }
    this.compact()
  }

  /**
   * Drops the entries of the line that no longer wait once they are most of it (they left while the line did not
   * move), so that it holds no more than about twice the sessions that wait.
   */
  compact(): void {
    if (this.stale <= 64 || this.stale <= this.waiting) return
    for (let n = this.line.length; n > 0; n--) {
      const waiter = this.line.shift()!
      if (waiter.state === WAITING) this.line.push(waiter)
    }
    this.stale = 0
  }
}

const key = { name: "@troupe/runtime/Session/admission" }
