import { createServer } from "node:http"
import { Agent, ScriptedModel, Turn } from "@troupe/llm"
import { Troupe } from "@troupe/runtime"

// Offline, a scripted model answers. For a real one: `services: OpenAi.layerConfig()` (reads OPENAI_API_KEY).
const model = ScriptedModel.layer(
  ({ messages }) => Turn.text(`That is message ${messages.filter((m) => m._tag === "User").length} of this chat.`),
  { record: false } // a server keeps no record of the calls
)
const troupe = await Troupe.start({ services: model })
// One agent per conversation: the first message to an id spawns it, and it keeps its conversation.
const chats = troupe.agents("chat", () => Agent.make({ name: "chat", system: "You are a friendly assistant." }))

const server = createServer(async (req, res) => {
  let prompt = ""
  for await (const chunk of req) prompt += chunk
  const answer = chats.get(req.url ?? "/").ask(Agent.Protocol.Ask({ prompt }), { timeout: "1 minute" })
  await answer.then((text) => res.end(`${text}\n`)).catch((error) => res.writeHead(500).end(`${error}\n`))
})
const port = Number(process.env.PORT ?? 3000)
server.listen(port, () => console.log(`POST a prompt to http://localhost:${port}/<conversation>`))
process.once("SIGINT", () => server.close(() => void troupe.shutdown()))
