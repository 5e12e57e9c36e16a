/**
 * A role's trace in a session: its latest events in a ring that allocates nothing per step and keeps no
 * message alive; payloads are summarised only when the trace is reported.
 */
import type { Diagram, Endpoint, Monitor } from "@troupe/choreography"
import type { StepTimeout } from "./sessionErrors.ts"

type TraceEvent = Diagram.TraceEvent

const SENT = 0
const RECEIVED = 1
const VIOLATION = 2
/** Events about the role itself (crashed, resumed, timed out, a note): their payload is the event. */
const OWN = 3

/**
 * A role's latest trace events, in a ring of (kind, peer, label, payload) slots, so that recording a step
 * allocates nothing and keeps no message alive; payloads are summarised only when the trace is reported.
 */
export class Recorder {
  /** Room for two events at first (an array grown from empty has room for 17 slots at once). */
  private readonly slots: Array<unknown> = new Array(8)
  /** Events recorded so far (the ring holds the latest `limit`), and where the next one goes. */
  private count = 0
  private next = 0
  private readonly role: string
  private readonly limit: number
  constructor(role: string, limit: number) {
    this.role = role
    this.limit = limit
  }

  sent(to: string, message: Endpoint.Incoming): void {
    this.push(SENT, to, message.label, message.payload)
  }

  received(message: Endpoint.Incoming): void {
    this.push(RECEIVED, message.from, message.label, message.payload)
  }

  violation(violation: Monitor.ProtocolViolation): void {
    this.push(VIOLATION, undefined, undefined, violation)
  }

  crashed(state: number, reason: string): void {
    this.push(OWN, undefined, undefined, { _tag: "Crashed", role: this.role, state, reason })
  }

  resumed(state: number): void {
    this.push(OWN, undefined, undefined, { _tag: "Resumed", role: this.role, state })
  }

  timedOut(timeout: StepTimeout): void {
    const { state, expected, waitedMillis } = timeout
    this.push(OWN, undefined, undefined, { _tag: "TimedOut", role: this.role, state, expected, waitedMillis })
  }

  note(text: string): void {
    this.push(OWN, undefined, undefined, { _tag: "Note", role: this.role, text })
  }

  private push(kind: number, peer: string | undefined, label: string | undefined, payload: unknown): void {
    if (this.limit === 0) return
    const i = this.next
    this.next = i + 4 === 4 * this.limit ? 0 : i + 4
    this.count++
    const slots = this.slots
    slots[i] = kind
    slots[i + 1] = peer
    slots[i + 2] = label
    slots[i + 3] = payload
  }

  /** The latest `limit` events, oldest first. */
  events(): Array<TraceEvent> {
    const first = Math.max(0, this.count - this.limit)
    // (sized at once: an array grown from empty has room for 17, and a role's report keeps it until its session ends)
    const out: Array<TraceEvent> = new Array(this.count - first)
    for (let n = first; n < this.count; n++) {
      const i = (n % this.limit) * 4
      const slots = this.slots
      const kind = slots[i] as number
      if (kind === OWN) {
        out[n - first] = slots[i + 3] as TraceEvent
        continue
      }
      if (kind === VIOLATION) {
        const v = slots[i + 3] as Monitor.ProtocolViolation
        out[n - first] = { _tag: "Violation", role: this.role, expected: v.expected, got: v.got }
        continue
      }
      const peer = slots[i + 1] as string
      const label = slots[i + 2] as string
      const payload = summary(slots[i + 3])
      out[n - first] =
        kind === SENT
          ? { _tag: "Sent", from: this.role, to: peer, label, payload }
          : { _tag: "Received", from: peer, to: this.role, label, payload }
    }
    return out
  }
}

/** A short text for a payload in a trace. */
const summary = (payload: unknown): string => {
  let text: string
  try {
    text = JSON.stringify(payload) ?? ""
  } catch {
    text = String(payload)
  }
  return text.length > 60 ? `${text.slice(0, 59)}…` : text
}
