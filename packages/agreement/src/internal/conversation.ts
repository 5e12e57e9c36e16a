/**
 * A conversation of a protocol instance run by this process on behalf of every role: each move is checked
 * by the sender's monitor and then the receiver's, as a session checks it, and recorded in a trace.
 */
import { type Choreography, type Diagram, Monitor } from "@troupe/choreography"
import { Cause } from "effect"

export interface Conversation {
  /** Checks and records a message; a move out of protocol is a bug of the caller (a defect). */
  readonly move: (from: string, to: string, label: string, payload: unknown) => void
  readonly trace: ReadonlyArray<Diagram.TraceEvent>
}

export const conversation = (instance: Choreography.Protocol, session: string): Conversation => {
  const monitors = new Map(
    instance.roles.map((role) => [role, Monitor.make(instance, role as never, session)] as const)
  )
  const states = new Map([...monitors].map(([role, m]) => [role, m.start] as const))
  const trace: Array<Diagram.TraceEvent> = []
  const step = (role: string, next: (m: Monitor.Monitor, state: number) => number | Monitor.ProtocolViolation) => {
    const answer = next(monitors.get(role)!, states.get(role)!)
    if (Monitor.isViolation(answer)) throw answer
    states.set(role, answer)
  }
  return {
    move: (from, to, label, payload) => {
      step(from, (m, s) => Monitor.send(m, s, to, label, payload))
      step(to, (m, s) => Monitor.receive(m, s, from, label, payload))
      const shown = payload === undefined ? undefined : JSON.stringify(payload)
      const summary = shown === undefined ? {} : { payload: shown.length > 80 ? `${shown.slice(0, 77)}...` : shown }
      trace.push({ _tag: "Sent", from, to, label, ...summary }, { _tag: "Received", from, to, label, ...summary })
    },
    trace
  }
}

/** One line about why an Effect failed. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Error
    ? error.message
    : typeof error === "string"
      ? error
      : (JSON.stringify(error) ?? "failed")
}
