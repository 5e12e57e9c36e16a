/** What an operator can do through the inspector, on this node. */
import { type ActorSystem, Desk, Introspection } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import type * as View from "../View.ts"

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
