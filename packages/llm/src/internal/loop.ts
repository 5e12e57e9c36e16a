/** The tool loop's engine, shared by `ToolLoop.run`, agents and LLM roles. */
import { Clock, Effect, Stream } from "effect"
import * as AgentEvent from "../AgentEvent.ts"
import type * as LanguageModel from "../LanguageModel.ts"
import { LanguageModel as Model } from "../LanguageModel.ts"
import { type InvalidOutput, type LlmError, MaxStepsExceeded } from "../LlmError.ts"
import * as Message from "../Message.ts"
import type * as Response from "../Response.ts"
import * as Telemetry from "../Telemetry.ts"
import * as Tool from "../Tool.ts"
import type * as ToolLoop from "../ToolLoop.ts"
import * as Usage from "../Usage.ts"

/** A loop's options, without its output schema. */
export type Options<Tools extends ReadonlyArray<Tool.Any>, E, R> = Omit<
  ToolLoop.Options<Tools, unknown, E, R>,
  "output" | "outputName"
>

/** What the final answer must be: the format sent to the model, and how its text is decoded. */
export interface Output<A> {
  readonly format: LanguageModel.OutputSchema
  readonly decode: (text: string) => Effect.Effect<A, InvalidOutput>
}

/** A loop's run: its result, what it may fail with, and what it needs. */
type Looped<Tools extends ReadonlyArray<Tool.Any>, A, E, R> = Effect.Effect<
  ToolLoop.Result<A>,
  LlmError | MaxStepsExceeded | Tool.Error<Tools[number]> | E,
  Model | Tool.Services<Tools[number]> | R
>

/**
 * Runs the model in context with tools until it answers (see `ToolLoop.run`), in a span
 * `invoke_agent {agent}` (the agent of `Telemetry.withAgent`) with the usage and cost of its model calls.
 */
export const run = <const Tools extends ReadonlyArray<Tool.Any>, A, E, R>(
  options: Options<Tools, E, R>,
  output: Output<A> | undefined
): Looped<Tools, A, E, R> =>
  Effect.flatMap(
    Effect.all([Telemetry.Agent, Telemetry.AgentId, Telemetry.Conversation]),
    ([agent, id, conversation]) =>
      loop(options, output).pipe(
        Effect.tap((result) =>
          Effect.annotateCurrentSpan({
            "gen_ai.usage.input_tokens": result.usage.inputTokens,
            "gen_ai.usage.output_tokens": result.usage.outputTokens,
            "troupe.llm.cost_usd": result.cost,
            "troupe.llm.steps": result.responses.length
          })
        ),
        Effect.withSpan(agent === "none" ? "invoke_agent" : `invoke_agent ${agent}`, {
          attributes: {
            "gen_ai.operation.name": "invoke_agent",
            ...(agent === "none" ? {} : { "gen_ai.agent.name": agent }),
            ...(id === undefined ? {} : { "gen_ai.agent.id": id }),
            ...(conversation === undefined ? {} : { "gen_ai.conversation.id": conversation })
          }
        })
      )
  )

const loop = <const Tools extends ReadonlyArray<Tool.Any>, A, E, R>(
  options: Options<Tools, E, R>,
  output: Output<A> | undefined
): Looped<Tools, A, E, R> =>
  Effect.gen(function* () {
    const model = yield* Model
    const {
      tools: given,
      maxSteps = 10,
      concurrency = "unbounded",
      maxOutputRetries,
      onEvent,
      system,
      prompt,
      ...rest
    } = options
    const tools: ReadonlyArray<Tool.Any> = given ?? []
    const byName = new Map(tools.map((tool) => [tool.name, tool]))
    const transcript: Array<Message.Message> = [
      ...(system === undefined ? [] : [Message.system(system)]),
      ...Message.fromPrompt(prompt)
    ]
    const start = transcript.length
    const responses: Array<Response.Response> = []
    let outputRetries = maxOutputRetries ?? 1
    const request = { ...rest, tools, ...(output === undefined ? {} : { output: output.format }) }

    const step = (messages: ReadonlyArray<Message.Message>) =>
      onEvent
        ? Effect.gen(function* () {
            let completed: Response.Response | undefined
            yield* Stream.runForEach(model.stream({ ...request, prompt: messages }), (event) => {
              if (event._tag === "Completed") completed = event.response
              return onEvent(event)
            })
            return completed!
          })
        : model.generate({ ...request, prompt: messages })

    for (let steps = 0; steps < maxSteps; steps++) {
      const response = yield* step([...transcript])
      responses.push(response)
      transcript.push(...response.messages)
      if (response.toolCalls.length > 0) {
        const results = yield* Effect.forEach(
          response.toolCalls,
          (call) => {
            const tool = byName.get(call.name)
            const result = observed(call, tool ? tool.call(call) : Effect.succeed(Tool.unknownTool(call, tools)))
            return onEvent ? Effect.tap(result, onEvent) : result
          },
          { concurrency }
        ) as Effect.Effect<
          ReadonlyArray<Message.ToolResult>,
          Tool.Error<Tools[number]> | E,
          Tool.Services<Tools[number]> | R
        >
        transcript.push(...results)
        continue
      }
      let value = response.text as A
      if (output) {
        const decoded = yield* output.decode(response.text).pipe(
          Effect.map((value) => ({ value })),
          Effect.catchTag("InvalidOutput", (invalid) =>
            outputRetries-- > 0 ? Effect.succeed(invalid) : Effect.fail(invalid)
          )
        )
        if (!("value" in decoded)) {
          transcript.push(Message.user(`${decoded.message}\nAnswer again.`))
          continue
        }
        value = decoded.value
      }
      return {
        value,
        text: response.text,
        transcript,
        added: transcript.slice(start),
        responses,
        usage: responses.reduce((sum, r) => Usage.add(sum, r.usage), Usage.empty),
        cost: responses.reduce((sum, r) => sum + (r.cost ?? 0), 0)
      } satisfies ToolLoop.Result<A>
    }
    return yield* new MaxStepsExceeded({
      message: `no final answer after ${maxSteps} model calls`,
      maxSteps
    })
  })

/** A tool call and its answer, published as agent events around the call. */
const observed = <E, R>(
  call: Message.ToolCall,
  result: Effect.Effect<Message.ToolResult, E, R>
): Effect.Effect<Message.ToolResult, E, R> =>
  Effect.gen(function* () {
    const agent = yield* Telemetry.Agent
    const start = yield* Clock.currentTimeMillis
    yield* AgentEvent.publish(
      new AgentEvent.ToolCalled({
        agent,
        id: call.id,
        tool: call.name,
        arguments: AgentEvent.clip(call.arguments, 2000)
      })
    )
    const answer = yield* result
    yield* AgentEvent.publish(
      new AgentEvent.ToolAnswered({
        agent,
        id: call.id,
        tool: call.name,
        output: AgentEvent.clip(answer.output, 2000),
        isError: answer.isError,
        millis: (yield* Clock.currentTimeMillis) - start
      })
    )
    return answer
  })
