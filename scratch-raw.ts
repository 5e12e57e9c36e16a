import { createServer } from "node:http"
import { LanguageModel, OpenAi } from "./packages/llm/src/index.ts"
import { Effect, Redacted, Stream, Exit, Cause, Schedule } from "effect"

type H = (body: any, res: import("node:http").ServerResponse) => void
let handler: H = () => {}
const server = createServer((req, res) => {
  let b = ""; req.on("data", (c) => (b += c)); req.on("end", () => handler(JSON.parse(b || "{}"), res))
}).listen(0)
await new Promise((r) => server.once("listening", r))
const url = `http://127.0.0.1:${(server.address() as any).port}/v1`
const sse = (res: any, events: Array<string>, end = true) => {
  res.writeHead(200, { "content-type": "text/event-stream" })
  for (const e of events) res.write(`data: ${e}\n\n`)
  if (end) res.end(); else res.destroy()
}
const chunk = (delta: any, finish: string | null = null) => JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })
const respEv = (o: any) => JSON.stringify(o)
const cases: Record<string, [api: "chat" | "responses", stream: boolean, H]> = {
  "chat 200 not json": ["chat", false, (_, res) => res.writeHead(200, { "content-type": "application/json" }).end("<html>oops</html>")],
  "chat 200 json no choices": ["chat", false, (_, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "x", object: "chat.completion", choices: [] }))],
  "chat stream cut mid-answer (no finish, no DONE, clean end)": ["chat", true, (_, res) => sse(res, [chunk({ role: "assistant", content: "" }), chunk({ content: "Hello wo" })])],
  "chat stream cut mid-answer (socket destroyed)": ["chat", true, (_, res) => sse(res, [chunk({ role: "assistant", content: "" }), chunk({ content: "Hello wo" })], false)],
  "chat stream garbage chunk": ["chat", true, (_, res) => sse(res, [chunk({ role: "assistant", content: "" }), "{not json", chunk({ content: "x" }, "stop"), "[DONE]"])],
  "chat stream tool call args cut": ["chat", true, (_, res) => sse(res, [chunk({ role: "assistant", tool_calls: [{ index: 0, id: "t1", type: "function", function: { name: "f", arguments: "{\"a\":" } }] })])],
  "chat nonstream finish length": ["chat", false, (_, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "x", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Hel" }, finish_reason: "length" }] }))],
  "responses stream cut before completed": ["responses", true, (_, res) => sse(res, [respEv({ type: "response.created", sequence_number: 0, response: { id: "r1", object: "response", status: "in_progress", output: [], model: "m", created_at: 1 } }), respEv({ type: "response.output_text.delta", sequence_number: 1, item_id: "m1", output_index: 0, content_index: 0, delta: "Hello wo" })])],
  "responses 200 not json": ["responses", false, (_, res) => res.writeHead(200, { "content-type": "application/json" }).end("oops")],
  "404 html": ["chat", false, (_, res) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>")],
  "502 html": ["chat", false, (_, res) => res.writeHead(502, { "content-type": "text/html" }).end("<h1>Bad gateway</h1>")],
}
for (const [name, [api, stream, h]] of Object.entries(cases)) {
  handler = h
  const layer = OpenAi.layer({ apiKey: Redacted.make("k"), baseUrl: url, model: "m", api }, { retry: Schedule.recurs(0) })
  const run = stream
    ? Stream.runCollect(LanguageModel.stream({ prompt: "hi" })).pipe(Effect.map((evs) => [...evs].map((e: any) => e._tag === "Completed" ? `Completed(text=${JSON.stringify(e.response.text)}, finish=${e.response.finishReason}, calls=${JSON.stringify(e.response.toolCalls)})` : e._tag === "TextDelta" ? `Δ${JSON.stringify(e.delta)}` : e._tag).join(" ")))
    : LanguageModel.generate({ prompt: "hi" }).pipe(Effect.map((r: any) => `text=${JSON.stringify(r.text)} finish=${r.finishReason}`))
  const exit = await Effect.runPromiseExit(run.pipe(Effect.provide(layer), Effect.timeout("10 seconds")))
  if (Exit.isSuccess(exit)) console.log(`== ${name}: OK ${exit.value}`)
  else { const e: any = Cause.squash(exit.cause); console.log(`== ${name}: ${Cause.hasDies(exit.cause) ? "DEFECT" : "FAIL"} ${e?._tag} ${String(e?.message).slice(0, 200)}`) }
}
server.close()
