/**
 * An in-memory session network for the roles of a protocol (one FIFO queue per ordered pair of roles),
 * recording a trace and the violations reported. The session runtime provides the real port; this stands
 * in for it (copied from the runtime's endpoint tests).
 */
import type { Diagram, Endpoint, Monitor } from "@troupe/runtime"
import { Effect, Queue } from "effect"

export const network = (roles: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const queues = new Map<string, Queue.Queue<Endpoint.Incoming>>()
    for (const from of roles)
      for (const to of roles) if (from !== to) queues.set(`${from}>${to}`, yield* Queue.unbounded<Endpoint.Incoming>())
    const queue = (from: string, to: string) => queues.get(`${from}>${to}`)!
    const trace: Array<Diagram.TraceEvent> = []
    const violations: Array<Monitor.ProtocolViolation> = []
    const port = (role: string): Endpoint.Port => ({
      send: (to, label, payload) =>
        Effect.sync(() =>
          trace.push({ _tag: "Sent", from: role, to, label, payload: JSON.stringify(payload) ?? "" })
        ).pipe(Effect.andThen(Queue.offer(queue(role, to), { from: role, label, payload }))),
      receive: (from) =>
        Queue.take(queue(from, role)).pipe(
          Effect.tap((m) => Effect.sync(() => trace.push({ _tag: "Received", from: m.from, to: role, label: m.label })))
        ),
      received: () => {},
      close: Effect.void,
      violated: (v) =>
        Effect.sync(() => {
          violations.push(v)
          trace.push({ _tag: "Violation", role: v.role, expected: v.expected, got: v.got })
        })
    })
    /** The messages sent so far, as `from->to:label`. */
    const sent = () => trace.flatMap((e) => (e._tag === "Sent" ? [`${e.from}->${e.to}:${e.label}`] : []))
    return { queue, port, trace, violations, sent }
  })
