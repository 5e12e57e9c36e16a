/**
 * Writes this node's part of the inspector's state: from the system's events (sessions, agents, dead
 * letters), from its desk (questions), and from snapshots taken every `interval` (the node, its links, its
 * actors, its session roles), each written only when it changed.
 */
import { AgentEvent } from "@troupe/llm"
import { type ActorSystem, Desk, Introspection, type SessionEvent, type SystemEvent } from "@troupe/runtime"
import { type Duration, Effect, type Scope, Stream } from "effect"
import type * as View from "../View.ts"
import { emptyPart, json, type Store } from "./store.ts"

/** How many sessions (the oldest finished ones go first), dead letters and agent events a part keeps. */
const limits = { sessions: 200, entries: 5000, deadLetters: 200, recent: 30, actors: 5000, agents: 1000 }

/** Starts collecting this node's part; it stops when the scope closes. */
export const collect = (
  system: ActorSystem.ActorSystemService,
  store: Store,
  options: { readonly actions: boolean; readonly interval: Duration.Input }
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const self = system.node
    const base = ["nodes", self]
    store.commit([
      { op: "set", path: base, value: emptyPart(self, { inspected: true, reachable: true, actions: options.actions }) }
    ])
    const sessions = new Sessions(base)
    const agents = new Map<string, Mutable<View.AgentView>>()

    const onEvent = (event: SystemEvent.SystemEvent): Effect.Effect<void> => {
      switch (event._tag) {
        case "SessionStarted":
        case "SessionStep":
        case "SessionViolation":
        case "SessionCrashed":
        case "SessionResumed":
        case "SessionNote":
        case "SessionEnded":
          store.commit(sessions.record(event))
          return Effect.void
        case "DeadLetter":
          store.commit([
            {
              op: "push",
              path: [...base, "deadLetters"],
              max: limits.deadLetters,
              value: {
                at: Date.now(),
                recipient: event.recipient,
                tag: event.tag,
                reason: event.reason,
                message: json(event.message, 500)
              } satisfies View.DeadLetterView
            }
          ])
          return Effect.void
        case "Custom": {
          const found = AgentEvent.fromSystemEvent(event)
          if (found !== undefined) agent(agents, store, base, found.path, found.event)
          return Effect.void
        }
        default:
          return Effect.void
      }
    }

    const events = yield* system.subscribe
    yield* Effect.forkScoped(Stream.runForEach(events, onEvent))

    const desk = Desk.of(system)
    const changes = yield* desk.changes
    const questions = yield* desk.pending
    store.commit(questions.map((q) => ({ op: "set", path: [...base, "questions", q.id], value: q })))
    yield* Effect.forkScoped(
      Stream.runForEach(changes, (change) =>
        Effect.sync(() =>
          store.commit([
            change._tag === "Asked"
              ? { op: "set", path: [...base, "questions", change.question.id], value: change.question }
              : { op: "delete", path: [...base, "questions", change.id] }
          ])
        )
      )
    )

    // snapshots, written when they change
    const last = new Map<string, string>()
    const snapshot = Effect.gen(function* () {
      const node = yield* Introspection.node(system)
      const actors = (yield* Introspection.actors(system)).slice(0, limits.actors)
      const roles = yield* Introspection.roles(system)
      const patches: Array<View.Patch> = []
      for (const [key, value] of [
        ["info", node],
        ["actors", actors],
        ["roles", roles]
      ] as const) {
        const text = JSON.stringify(value)
        if (last.get(key) === text) continue
        last.set(key, text)
        patches.push({ op: "set", path: [...base, key], value: JSON.parse(text) })
      }
      store.commit(patches)
    })
    yield* snapshot
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(options.interval), snapshot)))
  })

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The sessions of this node's part: their headers and entries, the oldest finished ones dropped. */
class Sessions {
  private readonly known: Array<string> = []
  private readonly ended = new Set<string>()
  private readonly base: ReadonlyArray<string>
  constructor(base: ReadonlyArray<string>) {
    this.base = base
  }

  private ensure(id: string, protocol: string, patches: Array<View.Patch>): ReadonlyArray<string> {
    const path = [...this.base, "sessions", id]
    if (!this.known.includes(id)) {
      this.known.push(id)
      patches.push({ op: "set", path, value: { id, protocol, entries: [] } satisfies View.SessionPart })
      if (this.known.length > limits.sessions) {
        const old = this.known.find((s) => this.ended.has(s)) ?? this.known[0]!
        this.known.splice(this.known.indexOf(old), 1)
        this.ended.delete(old)
        patches.push({ op: "delete", path: [...this.base, "sessions", old] })
      }
    }
    return path
  }

  private entry(session: string, protocol: string, entry: Omit<View.Entry, "at">): ReadonlyArray<View.Patch> {
    const patches: Array<View.Patch> = []
    const path = this.ensure(session, protocol, patches)
    patches.push({ op: "push", path: [...path, "entries"], value: { at: Date.now(), ...entry }, max: limits.entries })
    return patches
  }

  /** The patches an event of a session makes. */
  record(event: SessionEvent.SessionEvent): ReadonlyArray<View.Patch> {
    const { session, protocol } = event
    switch (event._tag) {
      case "SessionStarted": {
        const patches: Array<View.Patch> = []
        const path = this.ensure(session, protocol, patches)
        patches.push(
          { op: "set", path: [...path, "started"], value: Date.now() },
          { op: "set", path: [...path, "roles"], value: event.roles }
        )
        return patches
      }
      case "SessionStep":
        return this.entry(session, protocol, {
          kind: event.direction,
          role: event.role,
          peer: event.peer,
          label: event.label,
          payload: json(event.payload),
          state: event.state
        })
      case "SessionViolation":
        return this.entry(session, protocol, {
          kind: "violation",
          role: event.role,
          label: event.violation.got,
          state: event.violation.state,
          text: `refused: expected ${event.violation.expected.join(" or ") || "nothing"}, got ${event.violation.got}${event.violation.detail === undefined ? "" : ` (${event.violation.detail})`}`
        })
      case "SessionCrashed":
        return this.entry(session, protocol, {
          kind: "crash",
          role: event.role,
          state: event.state,
          text: `crashed: ${event.cause}`
        })
      case "SessionResumed":
        return this.entry(session, protocol, {
          kind: "resume",
          role: event.role,
          state: event.state,
          text: `restarted; resumed from its checkpoint at state ${event.state}`
        })
      case "SessionNote":
        return this.entry(session, protocol, { kind: "note", role: event.role, text: event.text })
      case "SessionEnded": {
        const patches: Array<View.Patch> = []
        const path = this.ensure(session, protocol, patches)
        this.ended.add(session)
        const cause = event.cause
        if (cause?._tag === "StepTimeout") {
          patches.push({
            op: "push",
            path: [...path, "entries"],
            value: {
              at: Date.now(),
              kind: "timeout",
              role: cause.role,
              state: cause.state,
              text: `deadline: waited ${cause.waitedMillis} ms for ${cause.expected.join(" or ")}`
            } satisfies View.Entry
          })
        }
        patches.push(
          { op: "set", path: [...path, "ended"], value: Date.now() },
          { op: "set", path: [...path, "outcome"], value: event.outcome },
          {
            op: "set",
            path: [...path, "cause"],
            value: cause && {
              tag: cause._tag,
              message: cause.message,
              ...("role" in cause ? { role: cause.role } : {})
            }
          }
        )
        return patches
      }
    }
  }
}

/**
 * An agent event: the agent's counters and its latest events. The agents are kept most recently active last;
 * past `limits.agents` the least recently active is dropped (a backend with one agent per conversation sees
 * agents without end).
 */
const agent = (
  agents: Map<string, Mutable<View.AgentView>>,
  store: Store,
  base: ReadonlyArray<string>,
  path: string | undefined,
  event: AgentEvent.AgentEvent
): void => {
  const key = path ?? `agent:${event.agent}`
  let view = agents.get(key)
  if (view === undefined) {
    view = {
      path: key,
      agent: event.agent === "none" ? key.slice(key.lastIndexOf("/") + 1) : event.agent,
      turns: 0,
      calls: 0,
      toolCalls: 0,
      inputTokens: 0,
      outputTokens: 0,
      cost: 0,
      recent: [],
      lastAt: 0
    }
  } else agents.delete(key)
  agents.set(key, view)
  const dropped: Array<View.Patch> = []
  for (const [old] of agents) {
    if (agents.size <= limits.agents) break
    agents.delete(old)
    dropped.push({ op: "delete", path: [...base, "agents", old] })
  }
  const now = Date.now()
  view.lastAt = now
  let recent: string | undefined
  switch (event._tag) {
    case "ModelCalled":
      view.calls++
      view.inputTokens += event.usage.inputTokens
      view.outputTokens += event.usage.outputTokens
      view.cost += event.cost ?? 0
      if (event.budget !== undefined)
        view.budget = {
          maxTokens: event.budget.limits.maxTokens,
          maxCost: event.budget.limits.maxCost,
          tokens: event.budget.spent.tokens,
          spent: event.budget.spent.cost
        }
      break
    case "ToolCalled":
      view.toolCalls++
      recent = `calls ${event.tool}(${AgentEvent.clip(event.arguments, 160)})`
      break
    case "ToolAnswered":
      recent = `${event.tool} ${event.isError ? "failed" : "answered"} in ${event.millis} ms: ${AgentEvent.clip(event.output, 160)}`
      break
    case "TurnDone":
      view.turns++
      recent = `answered "${AgentEvent.clip(event.prompt, 60)}": ${AgentEvent.clip(event.answer, 120)}`
      break
    case "ApprovalDecided":
      recent = `${event.by} ${event.decision} ${event.tool}(${AgentEvent.clip(event.arguments, 120)})${event.reason === undefined ? "" : `: ${event.reason}`}`
      break
  }
  if (recent !== undefined)
    view.recent = [...view.recent, { at: now, kind: event._tag, text: recent }].slice(-limits.recent)
  store.commit([...dropped, { op: "set", path: [...base, "agents", key], value: { ...view } }])
}
