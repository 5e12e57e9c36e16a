/** What an inspector shows of an actor now (`Introspection`): read-only, from the cell's fields. */
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

/** The actor's status, queue depths and failures now. */
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
