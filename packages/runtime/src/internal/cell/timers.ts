/**
 * An actor's timers (`ctx.timers`): each is a deadline of the system's that, when it fires, puts the timer's message
 * into the actor's system lane (and, for a periodic timer, schedules itself again).
 */
import type { ActorCell } from "../cell.ts"
import type { Deadline } from "../deadlines.ts"
import { Envelope, TIMER } from "./envelope.ts"
import { enqueueSystem } from "./mailbox.ts"
import { TERMINATED_STATUS } from "./status.ts"

/** A timer of `ctx.timers`: its message and, while it waits, its deadline. */
export interface TimerEntry {
  readonly key: string
  readonly message: { readonly _tag: string }
  readonly intervalMillis: number | undefined
  deadline: Deadline | undefined
}

/**
 * Starts the timer `key` of `cell` (replacing one of that key): `message` after `delayMillis`, then every
 * `intervalMillis` if given. A terminated cell starts none.
 *
 * @example
 * startTimer(cell, "tick", { _tag: "Tick" }, 1_000, 1_000)
 */
export const startTimer = (
  cell: ActorCell,
  key: string,
  message: { readonly _tag: string },
  delayMillis: number,
  intervalMillis: number | undefined
): void => {
  cancelTimer(cell, key)
  if (cell.status === TERMINATED_STATUS) return
  const timer: TimerEntry = { key, message, intervalMillis, deadline: undefined }
  ;(cell.timers ??= new Map()).set(key, timer)
  const fire = () => {
    timer.deadline =
      intervalMillis === undefined
        ? undefined
        : cell.system.deadlines.schedule(cell.system.deadlines.now() + intervalMillis, fire)
    enqueueSystem(cell, new Envelope(message, undefined, undefined, TIMER, timer))
  }
  timer.deadline = cell.system.deadlines.schedule(cell.system.deadlines.now() + delayMillis, fire)
}

/**
 * Cancels the timer `key` of `cell`, if it has one: its message is not sent (again).
 *
 * @example
 * cancelTimer(cell, "tick")
 */
export const cancelTimer = (cell: ActorCell, key: string): void => {
  const timer = cell.timers?.get(key)
  if (timer === undefined) return
  deleteTimer(cell, key)
  if (timer.deadline !== undefined) cell.system.deadlines.cancel(timer.deadline)
}

/**
 * Forgets the timer `key` of `cell` (its deadline is cancelled or has fired).
 *
 * @example
 * // a single timer's message was handled: deleteTimer(cell, timer.key)
 */
export const deleteTimer = (cell: ActorCell, key: string): void => {
  cell.timers!.delete(key)
  if (cell.timers!.size === 0) cell.timers = undefined
}
