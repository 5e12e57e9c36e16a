/**
 * Death watch, on both sides of a cell: as a watcher, the watches it made and has not been told of yet (a watch gives
 * one notification, however often it is made), and the notices it is told, which go into its system lane; as the
 * watched, who is told once it terminates (watchers and listeners; at once if it already has).
 */
import * as Terminated from "../../Terminated.ts"
import type { ActorCell } from "../cell.ts"
import { Envelope, NOTICE, TERMINATED, type Watcher } from "./envelope.ts"
import { enqueueSystem } from "./mailbox.ts"
import { TERMINATED_STATUS } from "./status.ts"

/**
 * As a watcher: starts a watch of the actor with this key (`SystemImpl.watchKey`); false when it is watched
 * already (a watch gives one notification, however often it is made).
 *
 * @example
 * if (beginWatch(cell, system.watchKey(ref))) target.addWatcher(cell, undefined)
 */
export const beginWatch = (cell: ActorCell, key: unknown): boolean => {
  const watching = (cell.watching ??= new Set())
  if (watching.has(key)) return false
  watching.add(key)
  return true
}

/**
 * As a watcher: `terminated` (or `message`, for `watchWith`) is put into the system lane, for the watch of its key.
 *
 * @example
 * watcher.notifyTerminated(new Terminated.Terminated({ ref, reason }), undefined)
 */
export const notifyTerminated = (
  cell: ActorCell,
  terminated: Terminated.Terminated,
  message: { readonly _tag: string } | undefined
): void => {
  const key = cell.system.watchKey(terminated.ref)
  enqueueSystem(
    cell,
    message === undefined
      ? new Envelope(terminated as unknown as { readonly _tag: string }, undefined, undefined, TERMINATED, key)
      : new Envelope(message, undefined, undefined, NOTICE, key)
  )
}

/**
 * A termination notice that comes from no watch of this cell's (a session's coordinator and the participants
 * of its node tell each other directly): handled as `notifyTerminated`'s, and never dropped as unwatched.
 *
 * @example
 * tellTerminated(cell, terminated, { _tag: "CoordinatorDown", session })
 */
export const tellTerminated = (
  cell: ActorCell,
  terminated: Terminated.Terminated,
  message: { readonly _tag: string } | undefined
): void => {
  enqueueSystem(
    cell,
    message === undefined
      ? new Envelope(terminated as unknown as { readonly _tag: string }, undefined, undefined, TERMINATED)
      : new Envelope(message, undefined, undefined, NOTICE)
  )
}

/**
 * As the watched: `watcher` will be told once when `cell` terminates (at once if it already has).
 *
 * @example
 * addWatcher(target, watcher, undefined)
 */
export const addWatcher = (cell: ActorCell, watcher: Watcher, message: { readonly _tag: string } | undefined): void => {
  if (cell.status === TERMINATED_STATUS) {
    watcher.notifyTerminated(new Terminated.Terminated({ ref: cell.ref, reason: cell.termination! }), message)
    return
  }
  ;(cell.watchers ??= new Map()).set(watcher, { message })
}

/**
 * As the watched: calls `listener` once when `cell` terminates (at once if it already has); returns a canceller.
 *
 * @example
 * const cancel = onTermination(cell, (terminated) => console.log(terminated.reason._tag))
 */
export const onTermination = (cell: ActorCell, listener: (terminated: Terminated.Terminated) => void): (() => void) => {
  if (cell.status === TERMINATED_STATUS) {
    listener(new Terminated.Terminated({ ref: cell.ref, reason: cell.termination! }))
    return () => {}
  }
  const listeners = (cell.listeners ??= [])
  listeners.push(listener)
  return () => {
    const i = listeners.indexOf(listener)
    if (i >= 0) listeners.splice(i, 1)
  }
}
