/** What an inspector shows of an actor now (read-only): see `ActorCell.inspect`. */
import type { Cause } from "effect"
import type { ActorCell } from "../cell.ts"
import { FROZEN, SUSPENDED, TERMINATED_STATUS } from "./status.ts"

/** See {@link inspect}. */
export interface CellSnapshot {
  readonly status: "running" | "idle" | "failed" | "restarting" | "stopping" | "stopped"
  /** Messages waiting, senders suspended on a full mailbox included. */
  readonly mailbox: number
  readonly capacity: number
  readonly stashed: number
  readonly restarts: number
  readonly lastFailure: { readonly cause: Cause.Cause<unknown>; readonly at: number } | undefined
}

/**
 * What an inspector shows of `cell` now (read-only).
 *
 * @example
 * inspect(cell) // { status: "idle", mailbox: 0, capacity: 1000, stashed: 0, restarts: 0, lastFailure: undefined }
 */
export const inspect = (cell: ActorCell): CellSnapshot => {
  const status =
    cell.status === TERMINATED_STATUS
      ? "stopped"
      : cell.status === SUSPENDED
        ? "failed"
        : cell.status === FROZEN
          ? cell.restarting
            ? "restarting"
            : "stopping"
          : cell.draining
            ? "running"
            : "idle"
  return {
    status,
    mailbox: (cell.mailbox?.length ?? 0) + (cell.waiters?.length ?? 0),
    capacity: cell.options.mailbox.capacity,
    stashed: cell.stashed?.length ?? 0,
    restarts: cell.restartsTotal,
    lastFailure: cell.lastFailure
  }
}
