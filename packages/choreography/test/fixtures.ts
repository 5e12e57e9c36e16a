/** Protocols shared by the choreography tests, and an in-memory network for endpoint tests. */
import { Effect, Queue, Schema } from "effect"
import { Choreography, type Diagram, type Endpoint, type Monitor } from "../src/index.ts"

/** Two-Buyer: A and B share the cost of a book sold by S; B decides. */
export const TwoBuyer = Choreography.makeUnsafe("TwoBuyer", ["A", "B", "S"], ($) => [
  $.message("A", "S", "title", Schema.String),
  $.message("S", "A", "quote", Schema.Number),
  $.message("S", "B", "quote", Schema.Number),
  $.message("A", "B", "split", Schema.Number),
  $.choice("B", {
    accept: [$.message("B", "A", "accept", Schema.Void), $.message("A", "S", "buy", Schema.String)],
    reject: [$.message("B", "A", "reject", Schema.Void), $.message("A", "S", "cancel", Schema.Void)]
  })
])

export const Credentials = Schema.Struct({ name: Schema.String, card: Schema.String })

/** A travel agency in a loop: the service's answer and the customer's decision are relayed by the agency. */
export const Travel = Choreography.makeUnsafe("Travel", ["Customer", "Agency", "Service"], ($) => [
  $.loop("Search", [
    $.message("Customer", "Agency", "suggest", Schema.String),
    $.message("Agency", "Service", "query", Schema.String),
    $.choice("Service", {
      available: [
        $.message("Service", "Agency", "available", Schema.Number),
        $.message("Agency", "Customer", "quote", Schema.Number),
        $.choice("Customer", {
          accept: [
            $.message("Customer", "Agency", "accept", Credentials),
            $.message("Agency", "Service", "confirm", Credentials)
          ],
          decline: [
            $.message("Customer", "Agency", "decline", Schema.Void),
            $.message("Agency", "Service", "reject", Schema.Void)
          ]
        })
      ],
      full: [
        $.message("Service", "Agency", "full", Schema.Void),
        $.message("Agency", "Customer", "full", Schema.Void),
        $.continue("Search")
      ]
    })
  ])
])

/** A reviewer's verdict on a draft. */
const Verdict = Schema.Struct({ approve: Schema.Boolean, reason: Schema.String })

/**
 * Review with a role family: an author sends a draft to n reviewers; each answers; the author accepts or asks
 * for another round. (`@troupe/agreement`'s `Protocols.Review` is a richer one; the choreography tests cannot
 * import it: agreement depends on the runtime.)
 */
export const Review = Choreography.makeUnsafe(
  "Review",
  ["Author", "Reviewer"],
  ($) => [
    $.loop("Round", [
      $.message("Author", "Reviewer", "draft", Schema.String),
      $.message("Reviewer", "Author", "verdict", Verdict),
      $.choice("Author", {
        accepted: [$.message("Author", "Reviewer", "accepted", Schema.Void)],
        revise: [$.message("Author", "Reviewer", "revise", Schema.Void), $.continue("Round")]
      })
    ])
  ],
  { families: ["Reviewer"] }
)

/**
 * An in-memory network for the roles of a protocol (one FIFO queue per ordered pair of roles): a port for
 * endpoint tests without the session runtime. It records a trace and the violations reported.
 */
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
