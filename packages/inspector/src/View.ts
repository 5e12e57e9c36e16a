/**
 * What the inspector serves, as plain JSON: the {@link State} (`GET /api/state`), the {@link Patch}es that
 * keep a copy of it live (`GET /api/events`, Server-Sent Events: one `reset` with the state, then `patch`
 * events with arrays of patches), and the {@link Action}s it accepts (`POST /api/act`, with the token).
 *
 * The state has one part per node, written only by that node's inspector: its actors, the session steps its
 * participants made, its agents, its dead letters and the questions on its desk. A session that spans nodes
 * is the union of its parts (see {@link sessionEntries}).
 *
 * @example
 * ```ts
 * const state = (await (await fetch("http://127.0.0.1:4000/api/state")).json()) as View.State
 * for (const part of Object.values(state.nodes)) console.log(part.node, part.actors.length, "actors")
 * ```
 */
import type { Desk, Introspection } from "@troupe/runtime"
import { Schema } from "effect"

/** The inspector's state. */
export interface State {
  /** The node that serves it. */
  readonly self: string
  /** Whether the serving inspector accepts actions (it was started with a token). */
  readonly actions: boolean
  readonly nodes: Readonly<Record<string, NodePart>>
}

/** What is known of one node. */
export interface NodePart {
  readonly node: string
  /** Whether this node's own inspector feeds this part (false: it is known only from a link to it). */
  readonly inspected: boolean
  /** Whether the serving node is connected to it now. */
  readonly reachable: boolean
  /** Whether its inspector accepts actions. */
  readonly actions: boolean
  readonly info: Introspection.NodeInfo | undefined
  /** Its live actors, parents before children. */
  readonly actors: ReadonlyArray<Introspection.ActorInfo>
  /** The session roles its participants play now. */
  readonly roles: ReadonlyArray<Introspection.RoleInfo>
  readonly sessions: Readonly<Record<string, SessionPart>>
  /** Its agents, by actor path. */
  readonly agents: Readonly<Record<string, AgentView>>
  /** Its latest dead letters, oldest first. */
  readonly deadLetters: ReadonlyArray<DeadLetterView>
  /** The questions waiting on its desk, by id. */
  readonly questions: Readonly<Record<string, Desk.Question>>
}

/** What one node saw of a session. */
export interface SessionPart {
  readonly id: string
  readonly protocol: string
  /** Set by the node that started the session: when, and each role's participant (actor path). */
  readonly started?: number | undefined
  readonly roles?: Readonly<Record<string, string>> | undefined
  /** Set by the node that started the session when it ended. */
  readonly ended?: number | undefined
  readonly outcome?: "completed" | "aborted" | undefined
  readonly cause?: { readonly tag: string; readonly message: string; readonly role?: string | undefined } | undefined
  /** What happened at this node's roles, in order. */
  readonly entries: ReadonlyArray<Entry>
}

/** One thing that happened in a session, at a role. */
export interface Entry {
  /** Epoch millis, on the node that saw it. */
  readonly at: number
  readonly kind: "send" | "receive" | "violation" | "crash" | "resume" | "note" | "timeout"
  readonly role: string
  /** For a send, the recipient; for a receive, the sender. */
  readonly peer?: string | undefined
  readonly label?: string | undefined
  /** The payload as JSON text (cut at 4000 characters). */
  readonly payload?: string | undefined
  /** The role's state after the step. */
  readonly state?: number | undefined
  /** For notes, violations, crashes, resumes (after a restart) and deadlines: what happened. */
  readonly text?: string | undefined
}

/** An agent: what it did and spent. */
export interface AgentView {
  readonly path: string
  /** Its name (`Telemetry.withAgent`), or the last segment of its path. */
  readonly agent: string
  /** Asks answered. */
  readonly turns: number
  /** Model calls. */
  readonly calls: number
  readonly toolCalls: number
  readonly inputTokens: number
  readonly outputTokens: number
  /** USD. */
  readonly cost: number
  /** Its budget after its last call, when it has one. */
  readonly budget?:
    | {
        readonly maxTokens?: number | undefined
        readonly maxCost?: number | undefined
        readonly tokens: number
        readonly spent: number
      }
    | undefined
  /** Its latest tool calls, approvals and answers, newest last. */
  readonly recent: ReadonlyArray<{ readonly at: number; readonly kind: string; readonly text: string }>
  readonly lastAt: number
}

/** A message that could not be delivered or handled. */
export interface DeadLetterView {
  readonly at: number
  readonly recipient: string
  readonly tag: string
  readonly reason: string
  /** The message as JSON text (cut). */
  readonly message: string
}

/** A change to the state: set (or replace) a value, append to a list (keeping its last `max`), or delete. */
export type Patch =
  | { readonly op: "set"; readonly path: ReadonlyArray<string>; readonly value: unknown }
  | { readonly op: "push"; readonly path: ReadonlyArray<string>; readonly value: unknown; readonly max?: number }
  | { readonly op: "delete"; readonly path: ReadonlyArray<string> }

/** Applies a patch to a state in place (missing objects on the path are made). */
export const apply = (state: object, patch: Patch): void => {
  const path = patch.path
  let target = state as Record<string, unknown>
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!
    const next = target[key]
    if (typeof next !== "object" || next === null) target[key] = {}
    target = target[key] as Record<string, unknown>
  }
  const last = path[path.length - 1]!
  switch (patch.op) {
    case "set":
      target[last] = patch.value
      break
    case "delete":
      delete target[last]
      break
    case "push": {
      const list = Array.isArray(target[last]) ? (target[last] as Array<unknown>) : (target[last] = [])
      list.push(patch.value)
      if (patch.max !== undefined && list.length > patch.max) list.splice(0, list.length - patch.max)
      break
    }
  }
}

/** The entries of a session from every node's part, in time order (each node's own order kept). */
export const sessionEntries = (state: State, session: string): ReadonlyArray<Entry & { readonly node: string }> =>
  Object.values(state.nodes)
    .flatMap((part) => (part.sessions[session]?.entries ?? []).map((entry, i) => ({ ...entry, node: part.node, i })))
    .sort((a, b) => a.at - b.at || (a.node === b.node ? a.i - b.i : 0))
    .map(({ i: _, ...entry }) => entry)

/** What the inspector can be asked to do (`POST /api/act`). */
export const Action = Schema.Union([
  /** Stop an actor on a node. */
  Schema.Struct({ kind: Schema.Literal("stop"), node: Schema.String, path: Schema.String }),
  /** Cancel a session, on the node that started it. */
  Schema.Struct({
    kind: Schema.Literal("cancel"),
    node: Schema.String,
    session: Schema.String,
    reason: Schema.optionalKey(Schema.String)
  }),
  /** Answer a question on a node's desk (a move, an approval). */
  Schema.Struct({
    kind: Schema.Literal("answer"),
    node: Schema.String,
    question: Schema.String,
    answer: Schema.Unknown,
    by: Schema.optionalKey(Schema.String)
  })
])
export type Action = typeof Action.Type
