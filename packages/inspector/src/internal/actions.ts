/** What an operator can do through the inspector, on this node. */
import { type ActorSystem, Desk, Introspection } from "@troupe/runtime"
import { Effect, Schema, SchemaIssue } from "effect"
import * as View from "../View.ts"

/** An action that could not be done: `status` is its HTTP status, `reason` what to tell the person. */
export class ActionFailed extends Schema.TaggedError<ActionFailed>()("ActionFailed", {
  status: Schema.Number,
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** Does an action on this node; answers what to tell the person. */
export const perform = (
  system: ActorSystem.ActorSystemService,
  action: View.Action
): Effect.Effect<string, ActionFailed> => {
  switch (action.kind) {
    case "stop":
      return Effect.flatMap(Introspection.stop(system, action.path), (stopped) =>
        stopped
          ? Effect.succeed(`stopped ${action.path} on ${system.node}`)
          : Effect.fail(new ActionFailed({ status: 404, reason: `No actor ${action.path} on ${system.node}` }))
      )
    case "cancel":
      return Effect.flatMap(
        Introspection.cancelSession(system, action.session, action.reason ?? "cancelled from the inspector"),
        (cancelled) =>
          cancelled
            ? Effect.succeed(`cancelled session ${action.session}`)
            : Effect.fail(
                new ActionFailed({
                  status: 404,
                  reason: `No session ${action.session} runs on ${system.node} (a session is cancelled on the node that started it)`
                })
              )
      )
    case "answer":
      return Desk.of(system)
        .answer(action.question, action.answer, action.by ?? "a person")
        .pipe(
          Effect.as(`answered ${action.question}`),
          Effect.mapError(
            (error) => new ActionFailed({ status: error._tag === "NoSuchQuestion" ? 404 : 422, reason: error.message })
          )
        )
  }
}

/** Each action's fields, as a person writes them (`?`: optional). */
const FIELDS: Record<View.Action["kind"], string> = {
  stop: "{ kind, node, path }",
  cancel: "{ kind, node, session, reason? }",
  answer: "{ kind, node, question, answer, by? }"
}

const kinds = Object.keys(FIELDS) as ReadonlyArray<View.Action["kind"]>
const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Why a request body is not an {@link View.Action}, for the person who sent it: what was wrong (no JSON, an unknown
 * kind, a field), where (the field), and which actions exist with their fields.
 *
 * @example
 * ```ts
 * whyNotAnAction({ kind: "launch", node: "alice" })
 * // 'Unknown action kind "launch": the actions are stop { kind, node, path }, cancel { ... }, answer { ... }'
 * ```
 */
export const whyNotAnAction = (body: unknown): string => {
  const actions = `the actions are ${kinds.map((kind) => `${kind} ${FIELDS[kind]}`).join(", ")}`
  if (body === undefined)
    return `The body is not JSON (or is over 256 KB): send one action as a JSON object; ${actions}`
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return `An action is a JSON object, not ${Array.isArray(body) ? "an array" : body === null ? "null" : `a ${typeof body}`}; ${actions}`
  }
  const kind = (body as { readonly kind?: unknown }).kind
  const member = View.Action.members.find((m) => m.fields.kind.literal === kind)
  if (member === undefined) {
    return `${kind === undefined ? "The action has no kind" : `Unknown action kind ${JSON.stringify(kind)}`}: ${actions}`
  }
  const decoded = Schema.decodeUnknownResult(member)(body)
  if (decoded._tag === "Success") return `Not an action: ${actions}` // not reached: the union failed on this member
  const first = formatter(decoded.failure.issue).issues[0]
  const field = (first?.path ?? []).map((p) => (typeof p === "object" ? String(p.key) : String(p))).join(".")
  return `Action ${kind}${field === "" ? "" : `, field ${field}`}: ${first?.message ?? "invalid"}; ${kind} takes ${FIELDS[member.fields.kind.literal]}`
}
