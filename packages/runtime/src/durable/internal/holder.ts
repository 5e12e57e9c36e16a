/**
 * Who a process is, as a node name's holder records itself (`troupe_nodes.holder`), and whether a recorded holder
 * is still alive, as far as this process can tell: on its own host (same host name and boot) it can, from the
 * holder's pid and the start time of the process with that pid (so that a later process given the same pid, or a
 * container's pid 1 after a restart, is not taken for it); elsewhere it cannot, and the claim watches the holder's
 * heartbeat instead (see `nodeClaim.ts`).
 *
 * @example
 * ```ts
 * const me = self(Date.now())
 * liveness(me, () => true) // "alive": this process, and the claim is held
 * ```
 */
import { readFileSync } from "node:fs"
import { hostname } from "node:os"
import type { NodeHolder } from "./errors.ts"

const readOr = (path: string, otherwise: string): string => {
  try {
    return readFileSync(path, "utf8").trim()
  } catch {
    return otherwise
  }
}

/**
 * The start time of process `pid` (ticks since boot, `/proc/<pid>/stat` field 22), or undefined when it is not
 * running (no such process, or a zombie: killed, not yet reaped by its parent) or not known.
 */
const startOf = (pid: number | "self"): string | undefined => {
  const stat = readOr(`/proc/${pid}/stat`, "")
  if (stat === "") return undefined
  // the command name (field 2) is in parentheses and may hold spaces: the fields after it start at field 3
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  if (fields[0] === "Z" || fields[0] === "X") return undefined
  return fields[22 - 3]
}

const boot = readOr("/proc/sys/kernel/random/boot_id", "")
const processStart = startOf("self") ?? ""

/** This process as a holder, taking the name at `startedAt`. */
export const self = (startedAt: number): NodeHolder => ({
  pid: process.pid,
  host: hostname(),
  boot,
  processStart,
  startedAt
})

/**
 * Whether the recorded holder is alive: `"alive"` or `"dead"` when this process can tell (the holder is on this
 * host), `"unknown"` otherwise. `ownHeld` tells, for a holder that is this very process, whether its claim is
 * still held here (a claim of a storage of this process that was closed without giving the name up is not).
 */
export const liveness = (holder: NodeHolder, ownHeld: () => boolean): "alive" | "dead" | "unknown" => {
  if (holder.host !== hostname() || holder.boot !== boot) return "unknown"
  if (holder.pid === process.pid && holder.processStart === processStart) return ownHeld() ? "alive" : "dead"
  if (boot !== "") {
    // Linux: the process with that pid, if any, must be the one that recorded itself
    const start = startOf(holder.pid)
    return start !== undefined && start === holder.processStart ? "alive" : "dead"
  }
  try {
    process.kill(holder.pid, 0)
    return "alive"
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH" ? "dead" : "alive"
  }
}
