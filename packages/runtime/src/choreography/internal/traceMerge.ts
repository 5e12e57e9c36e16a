/** The traces of a session's roles merged into one (the coordinator's, at the end of a session). */
import type { Diagram } from "@troupe/choreography"

type TraceEvent = Diagram.TraceEvent

/**
 * The traces of the roles as one: each role's events stay in order, and a receive comes after the send
 * it matches (by channel and count). A receive with no matching send (from a peer that does not record,
 * or cut by the trace limit) is placed when nothing else can go first.
 */
export const merge = (traces: ReadonlyArray<ReadonlyArray<TraceEvent> | undefined>): Array<TraceEvent> => {
  const lists = Array.from(traces, (trace) => trace ?? [])
  const cursors = lists.map(() => 0)
  const sent = new Map<string, number>()
  const received = new Map<string, number>()
  const out: Array<TraceEvent> = []
  const emit = (i: number) => {
    const e = lists[i]![cursors[i]!++]!
    if (e._tag === "Sent" || e._tag === "Received") {
      const counts = e._tag === "Sent" ? sent : received
      const channel = `${e.from}\u0000${e.to}`
      counts.set(channel, (counts.get(channel) ?? 0) + 1)
    }
    out.push(e)
  }
  const ready = (e: TraceEvent) => {
    if (e._tag !== "Received") return true
    const channel = `${e.from}\u0000${e.to}`
    return (received.get(channel) ?? 0) < (sent.get(channel) ?? 0)
  }
  for (;;) {
    let progressed = false
    let remaining = -1
    lists.forEach((list, i) => {
      while (cursors[i]! < list.length && ready(list[cursors[i]!]!)) {
        emit(i)
        progressed = true
      }
      if (remaining < 0 && cursors[i]! < list.length) remaining = i
    })
    if (remaining < 0) return out
    if (!progressed) emit(remaining)
  }
}
