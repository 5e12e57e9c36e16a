/**
 * A durable agent per customer, in a plain Node HTTP backend. The backend's code uses Promises only
 * (`Troupe.start`, `troupe.agents`, `ask`); the agents live in a SQLite file, so they keep their
 * conversations when the process is killed (kill -9 included) and started again, and a question the client
 * sends again with the same `Idempotency-Key` is answered once, from storage, without asking the model again.
 *
 *   POST /customers/:id/ask  {"question": "..."}  (header Idempotency-Key: <any unique string>)
 *   GET  /customers/:id/conversation
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples durable-agent`: it starts the server, asks a few
 * questions, prints the answers and stops. With `--serve` it keeps serving until Ctrl-C, on `PORT` (default
 * 3000), with its data in `DATA` (default `troupe-support.db` in the temporary directory):
 *
 *   curl -X POST localhost:3000/customers/42/ask -H 'Idempotency-Key: q1' -d '{"question":"Where is order A-1?"}'
 *
 * Offline, a scripted model answers; with `OPENAI_API_KEY` set, the real one does.
 */
import { rmSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Agent, DurableAgent, OpenAi, ScriptedModel, Tool, Turn } from "@troupe/llm"
import { Storage, Troupe } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"

// ---- The agents: one per customer, durable, passivated after 5 idle minutes. ----

const orderStatus = Tool.make("order_status", {
  description: "The shipping status of an order",
  parameters: Schema.Struct({ order: Schema.String }),
  success: Schema.String,
  handler: ({ order }) => Effect.succeed(order.endsWith("1") ? "shipped yesterday" : "being packed")
})

const Support = DurableAgent.entity("support", {
  name: "support",
  system: "You help customers with their orders. Look orders up before you answer.",
  tools: [orderStatus],
  passivateAfter: "5 minutes"
})

/** Offline: looks up any order named in the question, then answers with what it found. */
const scripted = ScriptedModel.layer((request) => {
  const last = request.messages.at(-1)
  const questions = request.messages.filter((m) => m._tag === "User").length
  if (last?._tag === "User") {
    const order = /\b([A-Z]-\d+)\b/.exec(last.text)?.[1]
    if (order !== undefined) return Turn.toolCall("order_status", { order })
    return Turn.text(`This is question ${questions} of our conversation. How can I help with your orders?`)
  }
  if (last?._tag === "ToolResult") return Turn.text(`Your order is ${last.output} (question ${questions}).`)
  return Turn.text("Sorry, I did not follow.")
})
const model = process.env.OPENAI_API_KEY === undefined ? scripted : Layer.orDie(OpenAi.layerConfig())

// ---- The backend: node:http and Promises. ----

const serve = process.argv.includes("--serve")
const port = Number(process.env.PORT ?? (serve ? 3000 : 0))
const data = process.env.DATA ?? join(tmpdir(), `troupe-support-${serve ? "serve" : process.pid}.db`)

const troupe = await Troupe.start({ name: "support", services: [model, Storage.layerSqlite({ filename: data })] })
const support = troupe.agents(Support)

const json = (res: Http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}
const body = async (req: Http.IncomingMessage): Promise<unknown> => {
  let text = ""
  for await (const chunk of req) text += String(chunk)
  return JSON.parse(text || "{}")
}

const server = Http.createServer(async (req, res) => {
  const match = /^\/customers\/([\w-]+)\/(ask|conversation)$/.exec(req.url ?? "")
  try {
    if (match === null) return json(res, 404, { error: `no route ${req.method} ${req.url}` })
    const [, customer, action] = match as unknown as [string, string, string]
    const agent = support.get(customer)
    if (action === "ask" && req.method === "POST") {
      const { question } = (await body(req)) as { question?: string }
      const key = req.headers["idempotency-key"]
      const answer = await agent.ask(Agent.Protocol.Ask({ prompt: question ?? "" }), {
        // stored before the agent sees it; asked again with the same key, answered from storage
        durable: true,
        id: typeof key === "string" ? `${customer}:${key}` : undefined,
        timeout: "2 minutes"
      } as const)
      return json(res, 200, { answer })
    }
    const transcript = await agent.ask(Agent.Protocol.Transcript())
    const line = (m: (typeof transcript)[number]) =>
      `${m._tag}: ${m._tag === "ToolCall" || m._tag === "ToolResult" ? m.name : "text" in m ? m.text : ""}`
    return json(res, 200, { conversation: transcript.map(line) })
  } catch (error) {
    json(res, 500, { error: error instanceof Error ? error.message : String(error) })
  }
})
await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`

const stop = async () => {
  await new Promise((resolve) => server.close(resolve))
  await troupe.shutdown()
}

if (serve) {
  console.log(`listening on ${base}, data in ${data}; Ctrl-C stops`)
  process.once("SIGINT", () => void stop().then(() => process.exit(0)))
} else {
  const ask = async (customer: string, key: string, question: string) => {
    const response = await fetch(`${base}/customers/${customer}/ask`, {
      method: "POST",
      headers: { "idempotency-key": key },
      body: JSON.stringify({ question })
    })
    console.log(`${customer} asks "${question}" -> ${((await response.json()) as { answer: string }).answer}`)
  }
  await ask("ada", "1", "Hello!")
  await ask("ada", "2", "Where is order A-1?")
  await ask("bob", "1", "Where is order B-2?")
  // the client did not see the answer and sends the same request again: answered from storage, once
  await ask("ada", "2", "Where is order A-1?")
  const conversation = await fetch(`${base}/customers/ada/conversation`)
  console.log(
    `ada's conversation: ${JSON.stringify(((await conversation.json()) as { conversation: unknown }).conversation)}`
  )
  await stop()
  if (process.env.DATA === undefined) for (const suffix of ["", "-wal", "-shm"]) rmSync(data + suffix, { force: true })
}
