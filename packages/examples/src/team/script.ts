/** Helpers for the team's scripted models. */
import type { Turn } from "@troupe/llm"

/** The text of the last user message of a request. */
export const lastUserText = (request: Turn.Request): string =>
  request.messages.findLast((m) => m._tag === "User")?.text ?? ""

/** The output of the last tool result of a request. */
export const lastToolOutput = (request: Turn.Request): string =>
  request.messages.findLast((m) => m._tag === "ToolResult")?.output ?? ""
