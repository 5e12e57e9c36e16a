/**
 * Troupe in an Express backend: one agent per conversation (see `chat.ts` for the routes).
 *
 *   npx -y pnpm@10.34.9 --filter @troupe/examples backend:express
 *   curl -H 'content-type: application/json' -d '{"prompt":"Hello"}' localhost:3000/conversations/alice/messages
 */
import express from "express"
import * as Chat from "./chat.ts"

const chat = await Chat.start()
const app = express()
app.use(express.json())

app.post("/conversations/:id/messages", async (req, res) => {
  res.json({ answer: await chat.ask(req.params.id, Chat.promptOf(req.body)) })
})
app.get("/conversations/:id", async (req, res) => {
  const messages = await chat.transcript(req.params.id)
  if (messages === undefined) res.status(404).json({ error: `no conversation ${req.params.id}` })
  else res.json({ messages })
})
app.delete("/conversations/:id", async (req, res) => {
  await chat.end(req.params.id)
  res.status(204).end()
})
// Express 5 hands the failures of async handlers here (a bad body, a typed error of Troupe)
app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  const { status, body } = Chat.failure(error)
  res.status((error as { status?: number }).status ?? status).json(body)
})

const server = app.listen(Chat.port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`)
})
Chat.stopOnSignal(() => new Promise((resolve) => server.close(() => resolve())), chat)
