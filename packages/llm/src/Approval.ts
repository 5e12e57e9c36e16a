/**
 * Tool calls that a person approves before they run. `Approval.required(tool)` is the same tool, except that
 * each call from the model first asks a person, on the desk of the node the agent runs on (`Desk`, question
 * kind `"approval"`), who answers in the inspector, in a terminal, or from code:
 *
 * - `{ "decision": "approve" }`: the call runs as the model asked;
 * - `{ "decision": "edit", "arguments": {...} }`: it runs with the person's arguments, which must decode with
 *   the tool's parameters (otherwise the answer is refused with what was wrong, and the question stays open);
 * - `{ "decision": "refuse", "reason": "..." }`: it does not run; the model gets an error result with the
 *   reason, and the loop goes on.
 *
 * The decision is published (`AgentEvent.ApprovalDecided`) and, when the agent plays a session role, written
 * into the session's trace. The agent waits while the person decides: give its ask a timeout to match. With a
 * `Desk.Journal` in context, decisions are recorded, so a call replayed after a crash is not asked again.
 * Arguments that do not decode are answered to the model at once, without asking anyone. (The tool's
 * `handler`, called directly, is not guarded.)
 *
 * @example
 * ```ts
 * const deploy = Approval.required(
 *   Tool.make("deploy", {
 *     description: "Deploy a version to an environment",
 *     parameters: Schema.Struct({ version: Schema.String, env: Schema.Literals(["staging", "prod"]) }),
 *     success: Schema.String,
 *     handler: ({ version, env }) => Effect.succeed(`${version} is live on ${env}`)
 *   })
 * )
 * const ops = Agent.make({ name: "ops", system: "You ship releases.", tools: [deploy] })
 * ```
 */
import { Desk, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import * as AgentEvent from "./AgentEvent.ts"
import { describeIssues, issuesOf, strict } from "./internal/structured.ts"
import * as Message from "./Message.ts"
import * as Telemetry from "./Telemetry.ts"
import type { Tool } from "./Tool.ts"

/** A person's answer to an approval question. */
export const Decision = Schema.Union([
  Schema.Struct({ decision: Schema.Literal("approve") }),
  Schema.Struct({ decision: Schema.Literal("edit"), arguments: Schema.Unknown }),
  Schema.Struct({ decision: Schema.Literal("refuse"), reason: Schema.optionalKey(Schema.String) })
])
export type Decision = typeof Decision.Type

/** What an approval question shows a person (its `detail`, as JSON). */
export interface Detail {
  /** Who asks: the agent's name, else the session role it plays, else `"An agent"`. */
  readonly agent: string
  readonly tool: string
  readonly description: string
  /** The arguments the model wrote, parsed. */
  readonly arguments: unknown
  /** The JSON Schema of the arguments, for a form to edit them. */
  readonly schema: unknown
}

/** Options of {@link required}. */
export interface Options<Params> {
  /** The question's one-line title; default `<agent> wants to call <tool>(<arguments>)`. */
  readonly title?: ((params: Params, agent: string) => string) | undefined
}

/** The tool, guarded: each call waits for a person's decision (see the module). */
export const required = <const Name extends string, Params, Success, E, R>(
  tool: Tool<Name, Params, Success, E, R>,
  options: Options<Params> = {}
): Tool<Name, Params, Success, E, R> => {
  // a tool from a JSON Schema (an MCP server's) checks its arguments with the imported schema as it is
  const codec = (
    tool.strict === false ? tool.parameters : strict(tool.parameters as Schema.Codec<unknown, unknown>).codec
  ) as Schema.ConstraintCodec<Params, unknown>
  const decode = Schema.decodeUnknownEffect(codec, { errors: "all" })
  const call = (request: Message.ToolCall): Effect.Effect<Message.ToolResult, E, R> =>
    Effect.gen(function* () {
      let json: unknown
      try {
        json = JSON.parse(request.arguments)
      } catch {
        return yield* tool.call(request) // answered to the model as an error
      }
      const params = yield* Effect.result(decode(json))
      if (params._tag === "Failure") return yield* tool.call(request)
      const agent = yield* Telemetry.Agent
      // who asks, for people: the agent's name, else the session role it plays
      const role = yield* Session.currentRole
      const asker = agent !== "none" ? agent : (role?.role ?? "An agent")
      const detail: Detail = {
        agent: asker,
        tool: tool.name,
        description: tool.description,
        arguments: json,
        schema: tool.jsonSchema
      }
      const asked = yield* Desk.ask({
        kind: "approval",
        title:
          options.title?.(params.success, agent) ??
          `${asker} wants to call ${tool.name}(${AgentEvent.clip(request.arguments, 120)})`,
        key: `approval/${agent}/${request.id}/${request.arguments}`,
        detail,
        check: (answer) =>
          Schema.decodeUnknownEffect(Decision)(answer).pipe(
            Effect.mapError(
              () =>
                `answer { "decision": "approve" }, { "decision": "edit", "arguments": {...} } or { "decision": "refuse", "reason": "..." }`
            ),
            Effect.flatMap(
              (decision): Effect.Effect<{ decision: Decision; arguments: string }, string> =>
                decision.decision !== "edit"
                  ? Effect.succeed({ decision, arguments: request.arguments })
                  : decode(decision.arguments).pipe(
                      Effect.mapError(
                        (error) => `the edited arguments do not fit ${tool.name}:\n${describeIssues(issuesOf(error))}`
                      ),
                      Effect.as({ decision, arguments: JSON.stringify(decision.arguments) })
                    )
            )
          )
      })
      const { decision, arguments: args } = asked.value
      const reason = decision.decision === "refuse" ? decision.reason : undefined
      const verb = { approve: "approved", edit: "edited", refuse: "refused" } as const
      yield* AgentEvent.publish(
        new AgentEvent.ApprovalDecided({
          agent,
          id: request.id,
          tool: tool.name,
          decision: verb[decision.decision],
          by: asked.by,
          arguments: args,
          reason
        })
      )
      yield* Session.note(
        `${asked.by} ${verb[decision.decision]} ${tool.name}(${AgentEvent.clip(args, 80)})${reason === undefined ? "" : `: ${reason}`}`
      )
      if (decision.decision === "refuse") {
        return Message.toolResult(
          request,
          `The call was refused by ${asked.by}${reason === undefined ? "" : `: ${reason}`}. Do not call it again as it was.`,
          true
        )
      }
      return yield* tool.call({ ...request, arguments: args })
    })
  return { ...tool, call }
}
