/**
 * The writer's node in the agent team (see main.ts): an agent that turns notes into a paragraph. Its
 * scripted model, used when no OPENAI_API_KEY is set, joins the notes it is given.
 */
import { Agent, Turn } from "@troupe/llm"
import { lastUserText } from "./script.ts"

export const agents = {
  writer: Agent.make({
    name: "writer",
    system: "You are a writer. Turn the notes you are given into one short, friendly paragraph."
  })
}

export const script: Turn.Script = (request) =>
  Turn.text(
    lastUserText(request)
      .split("\n")
      .map((line) => line.replace(/^- /, ""))
      .join(" ")
  )
