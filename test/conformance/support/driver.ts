/**
 * A participant for any role of any protocol, for conformance runs: it follows the role's state
 * machine with an untyped endpoint, sends payloads made from the schemas, and chooses so that every
 * loop runs at least twice and every run ends.
 */
import { type Choreography, type Endpoint, Session, StateMachine } from "@troupe/runtime"
import { Effect, Schema, type SchemaAST } from "effect"

/** A value of `schema`'s type (the simplest one), for payloads. */
export const sample = (schema: Schema.Top): unknown => {
  const value = sampleAst(schema.ast)
  if (!Schema.is(schema)(value)) throw new Error(`cannot make a sample value of ${String(schema.ast)}`)
  return value
}

const sampleAst = (ast: SchemaAST.AST): unknown => {
  switch (ast._tag) {
    case "String":
    case "TemplateLiteral":
      return "x"
    case "Number":
      return 1
    case "Boolean":
      return true
    case "Literal":
      return ast.literal
    case "Union":
      return sampleAst(ast.types[0]!)
    case "Arrays":
      return ast.elements.map(sampleAst)
    case "Objects":
      return Object.fromEntries(ast.propertySignatures.map((p) => [p.name, sampleAst(p.type)]))
    default:
      return undefined
  }
}

/** For each state, how many moves it takes at least to reach the end. */
const distances = (machine: StateMachine.StateMachine): ReadonlyArray<number> => {
  const distance = machine.states.map((s) => (s.kind === "end" ? 0 : Number.POSITIVE_INFINITY))
  for (let changed = true; changed; ) {
    changed = false
    for (const s of machine.states)
      for (const t of s.transitions)
        if (distance[t.to]! + 1 < distance[s.id]!) {
          distance[s.id] = distance[t.to]! + 1
          changed = true
        }
  }
  return distance
}

/**
 * The role's program: receives what comes, and at a choice takes the longest way (so that loops run
 * again) on its first visit of a state and the shortest way to the end afterwards. It answers how many
 * moves it made.
 */
export const driver = <P extends Choreography.Protocol>(protocol: P, role: Choreography.RolesOf<P>) => {
  const machine = StateMachine.of(protocol, role)
  const distance = distances(machine)
  return Session.role(protocol, role, (ep) =>
    Effect.gen(function* () {
      let endpoint = ep as unknown as Endpoint.UntypedEndpoint<Session.Failure>
      const visits = new Map<number, number>()
      let moves = 0
      for (;;) {
        const state = machine.states[endpoint.state]!
        if (state.kind === "end") {
          yield* endpoint.close()
          return moves
        }
        moves++
        if (state.kind === "receive") {
          endpoint = (yield* endpoint.receive()).next
          continue
        }
        const visit = visits.get(state.id) ?? 0
        visits.set(state.id, visit + 1)
        const ranked = [...state.transitions].sort((a, b) => distance[a.to]! - distance[b.to]!)
        const t = visit === 0 ? ranked.at(-1)! : ranked[0]!
        endpoint = yield* endpoint.send(t.peer, t.label, sample(t.payload))
      }
    })
  )
}

/** A message out of order for some role: who receives it, who sends it, and what. */
export interface Injection {
  readonly to: string
  readonly from: string
  readonly label: string
  readonly payload: unknown
}

/**
 * The first role that starts by receiving gets, from the peer it waits for, a message of a later step
 * (one that peer sends it later, if there is one, or else any other message of the protocol).
 */
export const injection = (protocol: Choreography.Protocol): Injection => {
  for (const role of protocol.roles) {
    const machine = StateMachine.of(protocol, role)
    const start = machine.states[machine.start]!
    if (start.kind !== "receive") continue
    const from = start.peer!
    const allowed = new Set(start.transitions.map((t) => t.label))
    const later = machine.states
      .flatMap((s) => s.transitions)
      .find((t) => t.direction === "receive" && t.peer === from && !allowed.has(t.label))
    const other = protocol.roles
      .flatMap((r) => StateMachine.of(protocol, r).states.flatMap((s) => s.transitions))
      .find((t) => !allowed.has(t.label))
    const chosen = later ?? other!
    return { to: role, from, label: chosen.label, payload: sample(chosen.payload) }
  }
  throw new Error(`no role of ${protocol.name} starts by receiving`)
}
