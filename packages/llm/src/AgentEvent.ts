/**
 * What agents do, as events on the actor system's event stream: each model call (tokens, cost, the budget
 * left), each tool call and its result, each answered ask, each person's decision on a tool call. They are
 * published as `SystemEvent.Custom` events whose `source` is {@link source} and whose `path` is the agent's
 * actor, when the work runs in an actor (an agent, a session role); {@link fromSystemEvent} reads them back.
 * Outside an actor system nothing is published.
 *
 * @example
 * ```ts
 * yield* system.events.pipe(
 *   Stream.filterMap((event) => Option.fromNullishOr(AgentEvent.fromSystemEvent(event))),
 *   Stream.runForEach(({ path, event }) =>
 *     event._tag === "ModelCalled" ? Console.log(`${path}: ${event.usage.outputTokens} tokens, $${event.cost}`) : Effect.void
 *   ),
 *   Effect.forkScoped
 * )
 * ```
 */
import { ActorSystem, type SystemEvent } from "@troupe/runtime"
import { Data, type Effect } from "effect"
import type { Limits, Spent } from "./Budget.ts"
import type * as Usage from "./Usage.ts"

/** The `source` of the events of this module. */
export const source = "@troupe/llm"

/** A model call ended with an answer: what it used and cost, and what the agent's budget has left. */
export class ModelCalled extends Data.TaggedClass("ModelCalled")<{
  /** The agent's name (`Telemetry.withAgent`), `"none"` outside an agent. */
  readonly agent: string
  readonly model: string
  readonly usage: Usage.Usage
  /** USD; undefined when the model has no price. */
  readonly cost: number | undefined
  readonly millis: number
  /** The agent's budget after the call, when it has one. */
  readonly budget: { readonly limits: Limits; readonly spent: Spent } | undefined
}> {}

/** The model asked for a tool to run (`arguments` is the JSON it wrote). */
export class ToolCalled extends Data.TaggedClass("ToolCalled")<{
  readonly agent: string
  readonly id: string
  readonly tool: string
  readonly arguments: string
}> {}

/** A tool answered the model. */
export class ToolAnswered extends Data.TaggedClass("ToolAnswered")<{
  readonly agent: string
  readonly id: string
  readonly tool: string
  readonly output: string
  readonly isError: boolean
  readonly millis: number
}> {}

/** An agent answered an ask: its answer's first characters, and what the whole turn used. */
export class TurnDone extends Data.TaggedClass("TurnDone")<{
  readonly agent: string
  readonly prompt: string
  readonly answer: string
  readonly steps: number
  readonly usage: Usage.Usage
  readonly cost: number
}> {}

/** A person decided on a tool call that needed approval (see `Approval`). */
export class ApprovalDecided extends Data.TaggedClass("ApprovalDecided")<{
  readonly agent: string
  readonly id: string
  readonly tool: string
  readonly decision: "approved" | "edited" | "refused"
  readonly by: string
  /** The arguments the tool runs with (the edited ones after an edit). */
  readonly arguments: string
  readonly reason: string | undefined
}> {}

/** Any event of an agent. */
export type AgentEvent = ModelCalled | ToolCalled | ToolAnswered | TurnDone | ApprovalDecided

/** Publishes an agent event on the current actor system's event stream (nothing outside one). */
export const publish = (event: AgentEvent): Effect.Effect<void> => ActorSystem.publish(source, event)

/** The agent event a system event carries, with the actor it concerns; undefined for any other event. */
export const fromSystemEvent = (
  event: SystemEvent.SystemEvent
): { readonly path: string | undefined; readonly event: AgentEvent } | undefined =>
  event._tag === "Custom" && event.source === source
    ? { path: event.path, event: event.event as AgentEvent }
    : undefined

/** The first `max` characters of a text, with an ellipsis when cut. */
export const clip = (text: string, max = 200): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text)
