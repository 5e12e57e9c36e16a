/**
 * Troupe in a Fastify backend: one agent per conversation (see `chat.ts` for the routes).
 *
 *   npx -y pnpm@10.34.9 --filter @troupe/examples backend:fastify
 *   curl -H 'content-type: application/json' -d '{"prompt":"Hello"}' localhost:3000/conversations/alice/messages
 */
import Fastify from "fastify"
import * as Chat from "./chat.ts"

const chat = await Chat.start()
const app = Fastify()

app.post<{ Params: { id: string } }>("/conversations/:id/messages", async (req) => ({
  answer: await chat.ask(req.params.id, Chat.promptOf(req.body))
}))
app.get<{ Params: { id: string } }>("/conversations/:id", async (req, reply) => {
  const messages = await chat.transcript(req.params.id)
  return messages === undefined ? reply.code(404).send({ error: `no conversation ${req.params.id}` }) : { messages }
})
app.delete<{ Params: { id: string } }>("/conversations/:id", async (req, reply) => {
  await chat.end(req.params.id)
  return reply.code(204).send()
})
app.setErrorHandler((error, _req, reply) => {
  const { status, body } = Chat.failure(error)
  return reply.code((error as { statusCode?: number }).statusCode ?? status).send(body)
})

const address = await app.listen({ port: Chat.port, host: "127.0.0.1" })
console.log(`listening on ${address}`)
Chat.stopOnSignal(() => app.close(), chat)
