/**
 * Troupe in a plain `node:http` backend: one agent per conversation (see `chat.ts` for the routes).
 *
 *   npx -y pnpm@10.34.9 --filter @troupe/examples backend:node-http
 *   curl -H 'content-type: application/json' -d '{"prompt":"Hello"}' localhost:3000/conversations/alice/messages
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import * as Chat from "./chat.ts"

const chat = await Chat.start()

const send = (res: ServerResponse, status: number, body?: unknown) => {
  res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" })
  res.end(body === undefined ? undefined : JSON.stringify(body))
}

const json = async (req: IncomingMessage): Promise<unknown> => {
  let text = ""
  for await (const chunk of req) text += chunk
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const server = createServer(async (req, res) => {
  const [, collection, id, messages] = new URL(req.url ?? "/", "http://localhost").pathname.split("/")
  try {
    if (collection !== "conversations" || id === undefined || id === "") return send(res, 404, { error: "not found" })
    const conversation = decodeURIComponent(id)
    if (req.method === "POST" && messages === "messages") {
      return send(res, 200, { answer: await chat.ask(conversation, Chat.promptOf(await json(req))) })
    }
    if (req.method === "GET" && messages === undefined) {
      const transcript = await chat.transcript(conversation)
      return transcript === undefined
        ? send(res, 404, { error: `no conversation ${conversation}` })
        : send(res, 200, { messages: transcript })
    }
    if (req.method === "DELETE" && messages === undefined) {
      await chat.end(conversation)
      return send(res, 204)
    }
    send(res, 404, { error: `no route ${req.method} ${req.url}` })
  } catch (error) {
    const { status, body } = Chat.failure(error)
    send(res, status, body)
  }
})

server.listen(Chat.port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`)
})
Chat.stopOnSignal(() => new Promise((resolve) => server.close(() => resolve())), chat)
