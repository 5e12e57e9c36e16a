/**
 * Mermaid diagrams of protocols, session traces and state machines.
 *
 * `protocol` draws a global protocol as a sequence diagram (choices as `alt`, loops as `loop`,
 * parallel parts as `par`, included protocols as highlighted blocks); `trace` draws what happened
 * in one session, with violations and aborts as notes; `stateMachine` draws a role's state machine.
 *
 * @example
 * ```ts
 * console.log(Diagram.protocol(TwoBuyer))
 * // sequenceDiagram
 * //   participant A
 * //   ...
 * //   A->>S: title(string)
 * //   ...
 * //   alt B chooses accept
 * //     B->>A: accept()
 * //     A->>S: buy(string)
 * //   else B chooses reject
 * //   ...
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Protocol, Steps } from "./Choreography.ts"
import { describeSchema } from "./internal/describe.ts"
import { describeTransition, type StateMachine } from "./StateMachine.ts"

/** Makes text safe inside a Mermaid statement (`;` ends a statement, `#` starts an entity). */
const text = (s: string): string => s.replace(/[#;]/g, (c) => (c === "#" ? "#35;" : "#59;")).replace(/\s*\n\s*/g, " ")

const participants = (roles: ReadonlyArray<string>) => {
  const ids = new Map<string, string>()
  const lines = roles.map((role, i) => {
    const id = /^[A-Za-z_][A-Za-z0-9_]*$/.test(role) && role !== "end" ? role : `r${i + 1}`
    ids.set(role, id)
    return id === role ? `  participant ${role}` : `  participant ${id} as ${text(role)}`
  })
  const idOf = (role: string) => ids.get(role) ?? role
  const over = roles.length === 1 ? idOf(roles[0]!) : `${idOf(roles[0]!)},${idOf(roles[roles.length - 1]!)}`
  return { lines, idOf, over }
}

/** The protocol as a Mermaid sequence diagram (drawn without recursion, so nesting of any depth is fine). */
export const protocol = (p: Protocol): string => {
  const { lines, idOf, over } = participants(p.roles)
  const out = ["sequenceDiagram", ...lines]
  // Work items, last first: a line to write, or a list of steps to draw at a depth.
  const todo: Array<string | readonly [Steps, number]> = [[p.steps, 1]]
  while (todo.length > 0) {
    const item = todo.pop()!
    if (typeof item === "string") {
      out.push(item)
      continue
    }
    const [steps, depth] = item
    const pad = "  ".repeat(depth)
    const items: Array<string | readonly [Steps, number]> = []
    for (const step of steps) {
      switch (step._tag) {
        case "Message":
          items.push(
            `${pad}${idOf(step.from)}->>${idOf(step.to)}: ${text(`${step.label}(${describeSchema(step.payload)})`)}`
          )
          break
        case "Choice":
          Object.entries(step.branches).forEach(([name, branch], i) => {
            items.push(`${pad}${i === 0 ? "alt" : "else"} ${text(`${step.at} chooses ${name}`)}`, [branch, depth + 1])
          })
          items.push(`${pad}end`)
          break
        case "Loop":
          items.push(`${pad}loop ${text(step.name)}`, [step.body, depth + 1], `${pad}end`)
          break
        case "Continue":
          items.push(`${pad}Note over ${over}: ${text(`continue ${step.name}`)}`)
          break
        case "End":
          items.push(`${pad}Note over ${over}: end`)
          break
        case "Parallel":
          step.parts.forEach((part, i) => {
            items.push(`${pad}${i === 0 ? "par" : "and"}`, [part, depth + 1])
          })
          items.push(`${pad}end`)
          break
        case "Include":
          if (step.recursive === true) {
            const renamed = Object.entries(step.roles).map(([from, to]) => `${to} as ${from}`)
            items.push(
              `${pad}Note over ${over}: ${text(`${p.name} again${renamed.length === 0 ? "" : ` (${renamed.join(", ")})`}`)}`
            )
            break
          }
          items.push(
            `${pad}rect rgba(128, 128, 128, 0.1)`,
            `${pad}  Note over ${over}: ${text(step.protocol)}`,
            [step.body, depth + 1],
            `${pad}end`
          )
          break
      }
    }
    for (let i = items.length - 1; i >= 0; i--) todo.push(items[i]!)
  }
  return out.join("\n")
}

/** One recorded event of a session, as `trace` draws it. `payload` is a short summary of the payload. */
export const TraceEvent = Schema.Union([
  Schema.TaggedStruct("Sent", {
    from: Schema.String,
    to: Schema.String,
    label: Schema.String,
    payload: Schema.optionalKey(Schema.String)
  }),
  Schema.TaggedStruct("Received", {
    from: Schema.String,
    to: Schema.String,
    label: Schema.String,
    payload: Schema.optionalKey(Schema.String)
  }),
  Schema.TaggedStruct("Violation", {
    role: Schema.String,
    expected: Schema.Array(Schema.String),
    got: Schema.String
  }),
  Schema.TaggedStruct("Aborted", {
    role: Schema.optionalKey(Schema.String),
    reason: Schema.String
  }),
  /** A restartable role's program failed; its actor crashed, to be restarted. */
  Schema.TaggedStruct("Crashed", { role: Schema.String, state: Schema.Number, reason: Schema.String }),
  /** A restartable role resumed from its checkpoint at `state` after its actor was restarted (or resumed). */
  Schema.TaggedStruct("Resumed", { role: Schema.String, state: Schema.Number }),
  /** A role waited for its next message longer than its step deadline. */
  Schema.TaggedStruct("TimedOut", {
    role: Schema.String,
    state: Schema.Number,
    expected: Schema.Array(Schema.String),
    waitedMillis: Schema.Number
  }),
  /** Something worth seeing happened at a role (a person approved a tool call, say). */
  Schema.TaggedStruct("Note", { role: Schema.String, text: Schema.String })
])

/** One recorded event of a session. */
export type TraceEvent = typeof TraceEvent.Type

/**
 * A session trace as a Mermaid sequence diagram. A message is drawn when it is sent: a solid arrow
 * if it was received, an arrow ending in a cross if it never was. A message received but never
 * recorded as sent (from an unchecked peer) is drawn dotted. Violations, aborts, crashes, resumes, missed
 * deadlines and notes become notes over their role.
 * `roles` fixes the order of the participants (default: order of appearance).
 */
export const trace = (events: ReadonlyArray<TraceEvent>, options: { readonly roles?: ReadonlyArray<string> } = {}) => {
  const seen = new Set(options.roles)
  for (const e of events) {
    if (e._tag === "Sent" || e._tag === "Received") seen.add(e.from).add(e.to)
    else if (e.role !== undefined) seen.add(e.role)
  }
  const roles = [...seen]
  const out = ["sequenceDiagram"]
  if (roles.length === 0) return out.join("\n")
  const { lines, idOf, over } = participants(roles)
  out.push(...lines)
  // Pair each receive with the oldest pending send of the same label on its channel.
  const pending = new Map<string, Array<number>>()
  const delivered = new Set<number>()
  const unsent = new Set<number>()
  events.forEach((e, i) => {
    if (e._tag !== "Sent" && e._tag !== "Received") return
    const channel = `${e.from}\u0000${e.to}`
    const queue = pending.get(channel) ?? []
    pending.set(channel, queue)
    if (e._tag === "Sent") queue.push(i)
    else {
      const head = queue[0]
      if (head !== undefined && (events[head] as typeof e).label === e.label) delivered.add(queue.shift()!)
      else unsent.add(i)
    }
  })
  const message = (e: { from: string; to: string; label: string; payload?: string }, arrow: string) =>
    `  ${idOf(e.from)}${arrow}${idOf(e.to)}: ${text(`${e.label}(${e.payload ?? ""})`)}`
  events.forEach((e, i) => {
    switch (e._tag) {
      case "Sent":
        out.push(message(e, delivered.has(i) ? "->>" : "-x"))
        break
      case "Received":
        if (unsent.has(i)) out.push(message(e, "-->>"))
        break
      case "Violation":
        out.push(
          `  Note over ${idOf(e.role)}: ${text(`violation: expected ${e.expected.join(" or ") || "nothing"}, got ${e.got}`)}`
        )
        break
      case "Aborted":
        out.push(`  Note over ${over}: ${text(`aborted${e.role === undefined ? "" : ` by ${e.role}`}: ${e.reason}`)}`)
        break
      case "Crashed":
        out.push(`  Note over ${idOf(e.role)}: ${text(`crashed in state ${e.state}: ${e.reason}`)}`)
        break
      case "Resumed":
        out.push(`  Note over ${idOf(e.role)}: ${text(`restarted; resumed from its checkpoint at state ${e.state}`)}`)
        break
      case "TimedOut":
        out.push(
          `  Note over ${idOf(e.role)}: ${text(`deadline: waited ${e.waitedMillis} ms for ${e.expected.join(" or ")}`)}`
        )
        break
      case "Note":
        out.push(`  Note over ${idOf(e.role)}: ${text(e.text)}`)
        break
    }
  })
  return out.join("\n")
}

/** A role's state machine as a Mermaid state diagram. */
export const stateMachine = (machine: StateMachine): string =>
  [
    "stateDiagram-v2",
    `  [*] --> s${machine.start}`,
    ...machine.states.flatMap((s) =>
      s.kind === "end"
        ? [`  s${s.id} --> [*]`]
        : s.transitions.map((t) => `  s${t.from} --> s${t.to}: ${text(describeTransition(t))}`)
    )
  ].join("\n")
