/**
 * The coordinator's node in the agent team (see main.ts). Once the node has joined the researcher's and the
 * writer's nodes, its `main` hook makes a coordinator agent whose tools ask those two agents, on their
 * nodes, gives it the task, prints what it did, and stops the node.
 */
import type { AgentsModule } from "@troupe/cli"
import { Agent, Tool, Turn } from "@troupe/llm"
import { Console, Effect, Schema } from "effect"
import { lastToolOutput } from "./script.ts"

const task = "Write a short paragraph for newcomers about Troupe."

export const main: AgentsModule.Main = (node) =>
  Effect.gen(function* () {
    const researcher = yield* node.awaitActor("/user/researcher", Agent.Protocol, { node: "researcher" })
    const writer = yield* node.awaitActor("/user/writer", Agent.Protocol, { node: "writer" })
    const coordinator = Agent.make({
      name: "coordinator",
      system: "You coordinate a researcher and a writer. Research the topic first, then have the notes written up.",
      tools: [
        Tool.fromAsk("research", {
          description: "Ask the researcher for facts about a topic",
          parameters: Schema.Struct({ topic: Schema.String }),
          actor: researcher,
          request: ({ topic }) => Agent.Protocol.Ask({ prompt: topic }),
          timeout: "2 minutes"
        }),
        Tool.fromAsk("write", {
          description: "Ask the writer to turn notes into a paragraph",
          parameters: Schema.Struct({ notes: Schema.String }),
          actor: writer,
          request: ({ notes }) => Agent.Protocol.Ask({ prompt: notes }),
          timeout: "2 minutes"
        })
      ],
      maxSteps: 6
    })
    const ref = yield* node.system.spawn(coordinator, { name: "coordinator" })
    yield* Console.log(`task: ${task}`)
    const answer = yield* ref.ask(Agent.Protocol.Ask({ prompt: task }), { timeout: "5 minutes" })
    for (const message of yield* ref.ask(Agent.Protocol.Transcript())) {
      if (message._tag === "ToolCall")
        yield* Console.log(
          `  asked the ${message.name === "research" ? "researcher" : "writer"} on its node: ${message.arguments}`
        )
    }
    yield* Console.log(`answer: ${answer}`)
    yield* node.shutdown
  })

/** The coordinator's model turns when no real model is configured: research, write, answer. */
export const script: Turn.Script = (request, index) =>
  index === 0
    ? Turn.toolCall("research", { topic: "Troupe's agents" })
    : index === 1
      ? Turn.toolCall("write", { notes: lastToolOutput(request) })
      : Turn.text(lastToolOutput(request))
