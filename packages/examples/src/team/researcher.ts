/**
 * The researcher's node in the agent team (see main.ts): an agent that answers with short facts. Its
 * scripted model, used when no OPENAI_API_KEY is set, answers from the question it is asked.
 */
import { Agent, Turn } from "@troupe/llm"
import { lastUserText } from "./script.ts"

export const agents = {
  researcher: Agent.make({
    name: "researcher",
    system: "You are a researcher. Answer with three short facts about the topic, one per line."
  })
}

export const script: Turn.Script = (request) =>
  Turn.text(
    [
      `- ${lastUserText(request)} run as actors: each owns its state and handles one message at a time.`,
      "- A supervisor restarts an actor that crashes, with backoff and a restart budget.",
      "- Nodes talk over WebSocket; a message out of protocol is refused before it leaves."
    ].join("\n")
  )
