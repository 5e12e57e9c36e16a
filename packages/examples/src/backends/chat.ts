/**
 * What the three backend examples share: Troupe, started with a language model, and one agent per
 * conversation, spawned by its first message. Only the web framework differs (`express.ts`, `fastify.ts`,
 * `node-http.ts`), and each serves the same routes:
 *
 *   POST   /conversations/:id/messages  {"prompt":"..."}  → 200 {"answer":"..."}
 *   GET    /conversations/:id                             → 200 {"messages":[...]}, or 404
 *   DELETE /conversations/:id                             → 204 (its agent stops; the next message starts afresh)
 *
 * Offline, the model is scripted and answers at once; with OPENAI_API_KEY set, it is the configured
 * OpenAI-compatible model (`OpenAi.layerConfig()`).
 */
import { Agent, type Message, OpenAi, ScriptedModel, Turn } from "@troupe/llm"
import { Troupe } from "@troupe/runtime"

/** The scripted model's answer: which message of the conversation this is, and what it said. */
const reply = ({ messages }: Turn.Request) => {
  const prompts = messages.filter((message) => message._tag === "User")
  return Turn.text(`Message ${prompts.length}: you said "${prompts.at(-1)?.text ?? ""}".`)
}

const model =
  process.env.OPENAI_API_KEY === undefined ? ScriptedModel.layer(reply, { record: false }) : OpenAi.layerConfig()

/** The chat service of a backend: answers, transcripts, ends of conversations. */
export interface Chat {
  /** Asks the agent of conversation `id` (spawning it on the first message). */
  ask(id: string, prompt: string): Promise<string>
  /** The conversation so far, or undefined if it has no agent. */
  transcript(id: string): Promise<ReadonlyArray<Message.Message> | undefined>
  /** Stops the agent of a conversation. */
  end(id: string): Promise<void>
  /** Stops every agent and the model. */
  shutdown(): Promise<void>
}

/** Starts Troupe with the model, and a kind of agents, one per conversation. */
export const start = async (): Promise<Chat> => {
  const troupe = await Troupe.start({ name: "chat", services: model })
  const conversations = troupe.agents("conversation", () =>
    Agent.make({ name: "assistant", system: "You are a concise, friendly assistant.", maxMessages: 40 })
  )
  return {
    ask: (id, prompt) => conversations.get(id).ask(Agent.Protocol.Ask({ prompt }), { timeout: "1 minute" }),
    transcript: async (id) =>
      conversations.ids().includes(id) ? conversations.get(id).ask(Agent.Protocol.Transcript()) : undefined,
    end: (id) => conversations.get(id).stop(),
    shutdown: () => troupe.shutdown()
  }
}

/** The HTTP status and body for a failure: Troupe's errors are typed (`_tag`), with a message. */
export const failure = (error: unknown): { readonly status: number; readonly body: { readonly error: string } } => {
  const tag = (error as { readonly _tag?: unknown } | null)?._tag
  const status =
    tag === "AskTimeout" ? 504 : tag === "MailboxFull" ? 503 : tag === "InvalidName" || tag === "BadPrompt" ? 400 : 500
  return { status, body: { error: error instanceof Error ? error.message : String(error) } }
}

/** A prompt from a JSON body, or a `BadPrompt` error. */
export const promptOf = (body: unknown): string => {
  const prompt = (body as { readonly prompt?: unknown } | null)?.prompt
  if (typeof prompt !== "string" || prompt === "") {
    throw Object.assign(new Error('the body must be JSON with a non-empty "prompt" string'), { _tag: "BadPrompt" })
  }
  return prompt
}

/** The port to listen on: `PORT`, or 3000 (0 picks a free one). */
export const port = Number(process.env.PORT ?? 3000)

/** Stops the server and Troupe on Ctrl-C or SIGTERM, then exits 0. */
export const stopOnSignal = (close: () => Promise<void>, chat: Chat) => {
  const stop = async () => {
    await close()
    await chat.shutdown()
    console.log("stopped")
    process.exit(0)
  }
  process.once("SIGINT", () => void stop())
  process.once("SIGTERM", () => void stop())
}
