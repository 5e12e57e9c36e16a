/**
 * Run-time monitors: a pure check of one role's moves against its state machine.
 *
 * A monitor belongs to a (session, role). It holds no state of its own: the caller keeps the
 * current state number (which is also what a checkpoint records) and asks the monitor about each
 * move. The answer is the next state, or a {@link ProtocolViolation} that names the session, the
 * role, the state, what was expected and what happened. Transition tables are built once per state
 * machine, so a step is a few comparisons, a scan of the state's labels and the payload's test (`typeof` for a
 * primitive, else `Schema.is`).
 * A session runs it at the sender before a message leaves, and at the receiver for each message.
 *
 * @example
 * ```ts
 * const monitor = Monitor.make(TwoBuyer, "S", "session-1")
 * let state = monitor.start
 * const next = Monitor.receive(monitor, state, "A", "title", "War and Peace")
 * if (Monitor.isViolation(next)) return yield* next   // a typed ProtocolViolation
 * state = next
 * ```
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import type { Protocol, RolesOf } from "./Choreography.ts"
import { describeTransition, of, type StateMachine } from "./StateMachine.ts"

/** A move that the role's local type does not allow in its current state. */
export class ProtocolViolation extends Schema.TaggedError<ProtocolViolation>()("ProtocolViolation", {
  protocol: Schema.String,
  session: Schema.String,
  role: Schema.String,
  /** The state the role was in (see `StateMachine.print`). */
  state: Schema.Number,
  /** The moves allowed there, e.g. `["A!quote(number)"]`; empty at the end. */
  expected: Schema.Array(Schema.String),
  /** The move attempted, e.g. `B!quote`, `A?refund` or `close`. */
  got: Schema.String,
  /** What was wrong with it. */
  reason: Schema.Literals(["direction", "peer", "label", "payload", "ended", "unfinished", "state", "sequence"]),
  /** More about the reason (for a payload: what the schema rejected). */
  detail: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const expected = this.expected.length === 0 ? "nothing (the role is done)" : this.expected.join(" or ")
    return (
      `Protocol violation in session ${this.session} of ${this.protocol}: role ${this.role} in state ${this.state} ` +
      `expected ${expected} but got ${this.got}${this.detail === undefined ? "" : `: ${this.detail}`}`
    )
  }
}

/** The monitor of one role in one session. */
export interface Monitor {
  readonly protocol: string
  readonly role: string
  readonly session: string
  readonly machine: StateMachine
  /** The state a role starts in. */
  readonly start: number
}

const SEND = 0
const RECEIVE = 1
const END = 2

interface Move {
  readonly to: number
  readonly is: (u: unknown) => boolean
  readonly payload: Schema.Top
}

/**
 * A state's moves, compiled for the hot path: its labels and, at the same index, each move's next state and
 * payload test (a scan of a few labels costs less than a map lookup).
 */
interface Row {
  readonly kind: typeof SEND | typeof RECEIVE | typeof END
  readonly peer: string | undefined
  readonly labels: ReadonlyArray<string>
  readonly moves: ReadonlyArray<Move>
  readonly expected: ReadonlyArray<string>
}

class MonitorImpl implements Monitor {
  readonly machine: StateMachine
  readonly session: string
  readonly rows: ReadonlyArray<Row>
  constructor(machine: StateMachine, session: string, rows: ReadonlyArray<Row>) {
    this.machine = machine
    this.session = session
    this.rows = rows
  }
  // read from the machine (a live session's monitor keeps no copies)
  get protocol(): string {
    return this.machine.protocol
  }
  get role(): string {
    return this.machine.role
  }
  get start(): number {
    return this.machine.start
  }
}

/** `Schema.is`, with plain `typeof` tests for unrefined primitives (the common payloads). */
const guard = (schema: Schema.Top): ((u: unknown) => boolean) => {
  const ast = schema.ast
  if (ast.checks === undefined)
    switch (ast._tag) {
      case "String":
        return (u) => typeof u === "string"
      case "Number":
        return (u) => typeof u === "number"
      case "Boolean":
        return (u) => typeof u === "boolean"
      case "Void":
      case "Unknown":
      case "Any":
        return () => true
      case "Undefined":
        return (u) => u === undefined
    }
  return Schema.is(schema)
}

const tables = new WeakMap<StateMachine, ReadonlyArray<Row>>()
const receivable = new WeakMap<StateMachine, ReadonlyMap<string, ReadonlySet<string>>>()

const rowsOf = (machine: StateMachine): ReadonlyArray<Row> => {
  let rows = tables.get(machine)
  if (rows === undefined) {
    rows = machine.states.map((s) => ({
      kind: s.kind === "send" ? SEND : s.kind === "receive" ? RECEIVE : END,
      peer: s.peer,
      labels: s.transitions.map((t) => t.label),
      moves: s.transitions.map((t) => ({ to: t.to, is: guard(t.payload), payload: t.payload })),
      expected: s.transitions.map(describeTransition)
    }))
    tables.set(machine, rows)
  }
  return rows
}

/** The monitor of `role` in `session` of `protocol`. */
export const make = <P extends Protocol, Role extends RolesOf<P>>(protocol: P, role: Role, session: string): Monitor =>
  fromMachine(of(protocol, role), session)

/** The monitor of a state machine in `session`. */
export const fromMachine = (machine: StateMachine, session: string): Monitor =>
  new MonitorImpl(machine, session, rowsOf(machine))

const violation = (
  m: MonitorImpl,
  state: number,
  got: string,
  reason: ProtocolViolation["reason"],
  detail?: string
): ProtocolViolation =>
  new ProtocolViolation({
    protocol: m.protocol,
    session: m.session,
    role: m.role,
    state,
    expected: m.rows[state]?.expected ?? [],
    got,
    reason,
    ...(detail === undefined ? {} : { detail })
  })

/** The next state if the row allows `label(payload)` (to or from its peer), else -1: the hot path of a step. */
const allowed = (row: Row | undefined, kind: number, peer: string, label: string, payload: unknown): number => {
  if (row === undefined || row.kind !== kind || row.peer !== peer) return -1
  const move = row.moves[row.labels.indexOf(label)]
  return move?.is(payload) ? move.to : -1
}

/** Why a step was refused: works out what exactly is wrong (off the hot path). */
const refused = (
  m: MonitorImpl,
  kind: typeof SEND | typeof RECEIVE,
  state: number,
  peer: string,
  label: string,
  payload: unknown
): ProtocolViolation => {
  const row = m.rows[state]
  const got = `${peer}${kind === SEND ? "!" : "?"}${label}`
  if (row === undefined) return violation(m, state, got, "state", `state ${state} does not exist`)
  if (row.kind === END) return violation(m, state, got, "ended")
  if (row.kind !== kind) return violation(m, state, got, "direction")
  if (row.peer !== peer) return violation(m, state, got, "peer")
  const move = row.moves[row.labels.indexOf(label)]
  if (move === undefined) return violation(m, state, got, "label")
  const decoded = Schema.decodeUnknownResult(Schema.toType(move.payload))(payload)
  return violation(m, state, got, "payload", Result.isFailure(decoded) ? decoded.failure.message : "invalid payload")
}

/** Checks that the role may send `label` with `payload` to `to` in `state`: the next state, or the violation. */
export const send = (
  monitor: Monitor,
  state: number,
  to: string,
  label: string,
  payload: unknown
): number | ProtocolViolation => {
  const next = allowed((monitor as MonitorImpl).rows[state], SEND, to, label, payload)
  return next >= 0 ? next : refused(monitor as MonitorImpl, SEND, state, to, label, payload)
}

/** Checks that the role may receive `label` with `payload` from `from` in `state`: the next state, or the violation. */
export const receive = (
  monitor: Monitor,
  state: number,
  from: string,
  label: string,
  payload: unknown
): number | ProtocolViolation => {
  const next = allowed((monitor as MonitorImpl).rows[state], RECEIVE, from, label, payload)
  return next >= 0 ? next : refused(monitor as MonitorImpl, RECEIVE, state, from, label, payload)
}

/** Checks that the role may stop in `state` (it is at the end): the same state, or the violation. */
export const close = (monitor: Monitor, state: number): number | ProtocolViolation => {
  const m = monitor as MonitorImpl
  const row = m.rows[state]
  if (row === undefined) return violation(m, state, "close", "state", `state ${state} does not exist`)
  return row.kind === END ? state : violation(m, state, "close", "unfinished")
}

/** Whether a step's answer is a violation (otherwise it is the next state). */
export const isViolation = (answer: number | ProtocolViolation): answer is ProtocolViolation =>
  typeof answer !== "number"

/** The moves allowed in `state`, written as in local types (`A!quote(number)`). */
export const expected = (monitor: Monitor, state: number): ReadonlyArray<string> =>
  (monitor as MonitorImpl).rows[state]?.expected ?? []

/**
 * Whether the role receives `label` from `from` in any state of its local type. A session checks each
 * message when it arrives with this, so that a message that can never be received fails at once instead
 * of waiting in a queue until the role gets to it.
 */
export const mayReceive = (monitor: Monitor, from: string, label: string): boolean => {
  const machine = monitor.machine
  let byPeer = receivable.get(machine)
  if (byPeer === undefined) {
    const table = new Map<string, Set<string>>()
    for (const s of machine.states)
      for (const t of s.transitions)
        if (t.direction === "receive") {
          let labels = table.get(t.peer)
          if (labels === undefined) table.set(t.peer, (labels = new Set()))
          labels.add(t.label)
        }
    receivable.set(machine, (byPeer = table))
  }
  return byPeer.get(from)?.has(label) === true
}

/**
 * The violation for a message that arrived out of sequence from `from` (a message before it is missing):
 * what a session answers to a peer that numbers its messages wrongly.
 */
export const outOfSequence = (
  monitor: Monitor,
  state: number,
  from: string,
  label: string,
  detail: string
): ProtocolViolation => violation(monitor as MonitorImpl, state, `${from}?${label}`, "sequence", detail)

/** Whether `state` is the end: the role has nothing more to do. */
export const isEnd = (monitor: Monitor, state: number): boolean => (monitor as MonitorImpl).rows[state]?.kind === END

/** The role the monitored role receives from in `state`, or the violation if it is not waiting to receive there. */
export const receivesFrom = (monitor: Monitor, state: number): string | ProtocolViolation => {
  const m = monitor as MonitorImpl
  const row = m.rows[state]
  if (row === undefined) return violation(m, state, "receive", "state", `state ${state} does not exist`)
  if (row.kind === RECEIVE) return row.peer!
  return violation(m, state, "receive", row.kind === END ? "ended" : "direction")
}
