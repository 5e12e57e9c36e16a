/**
 * An actor's timers (`ctx.timers`): each a key, a message and, while it waits, a deadline on the system's deadline
 * heap; when it fires its message goes into the system lane (a timer's message is never dropped), and the drain
 * handles it only if the timer is still the one under its key.
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
 * Starts the timer `key` (replacing one of that key): `message` after `delayMillis`, then every `intervalMillis` if
 * given. A terminated actor starts none.
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
  const deadlines = cell.system.deadlines
  const fire = () => {
    timer.deadline =
      intervalMillis === undefined ? undefined : deadlines.schedule(deadlines.now() + intervalMillis, fire)
    enqueueSystem(cell, new Envelope(message, undefined, undefined, TIMER, timer))
  }
  timer.deadline = deadlines.schedule(deadlines.now() + delayMillis, fire)
}

/** Cancels the timer `key`, if any (a message it already queued is not handled: see `deleteTimer`). */
export const cancelTimer = (cell: ActorCell, key: string): void => {
  const timer = cell.timers?.get(key)
  if (timer === undefined) return
  deleteTimer(cell, key)
  if (timer.deadline !== undefined) cell.system.deadlines.cancel(timer.deadline)
}

/** Forgets the timer `key` (a single timer whose message is being handled, or one cancelled). */
export const deleteTimer = (cell: ActorCell, key: string): void => {
  cell.timers!.delete(key)
  if (cell.timers!.size === 0) cell.timers = undefined
}

/** Cancels every timer of the actor (before a restart, at its stop). */
export const cancelAllTimers = (cell: ActorCell): void => {
  if (cell.timers === undefined) return
  for (const timer of cell.timers.values()) {
    if (timer.deadline !== undefined) cell.system.deadlines.cancel(timer.deadline)
  }
  cell.timers = undefined
}
