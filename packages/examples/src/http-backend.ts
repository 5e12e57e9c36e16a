/**
 * Troupe inside a plain Node HTTP backend. The backend's own code uses no Effect: it starts Troupe with
 * `Troupe.start` and talks to actors with Promises (`tell`, `ask`, `lookup`). The WebSocket transport shares
 * the backend's HTTP server, on the path `/troupe`, and a second node (a worker) joins through it; one route
 * asks an actor on that worker.
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples http`: it starts the server, sends it a few
 * requests, prints the answers and stops. With `--serve` it keeps serving until Ctrl-C, on `PORT`
 * (default 3000), for you to try with curl:
 *
 *   curl -X POST localhost:3000/visits/home
 *   curl localhost:3000/visits/home
 *   curl 'localhost:3000/slug?title=Hello%20Troupe'
 */
import { randomBytes } from "node:crypto"
import * as Http from "node:http"
import { Behavior, Protocol, Troupe } from "@troupe/runtime"
import { WebSocket } from "@troupe/transport"
import { Effect, Schema } from "effect"

// ---- The actors. Behaviours are written with Effect; nothing else here is. ----

const Visits = Protocol.make("Visits", {
  Visit: { page: Schema.String },
  Count: Protocol.request({ page: Schema.String }, { success: Schema.Number })
})
const visits = Behavior.make(Visits, {
  initial: new Map<string, number>(),
  receive: {
    Visit: (counts, { page }) => Effect.succeed(new Map(counts).set(page, (counts.get(page) ?? 0) + 1)),
    Count: (counts, { page }) => Effect.succeed({ state: counts, reply: counts.get(page) ?? 0 })
  }
})

const Slugs = Protocol.make("Slugs", {
  Slugify: Protocol.request({ title: Schema.String }, { success: Schema.String })
})
const slugs = Behavior.make(Slugs, {
  initial: null,
  receive: {
    Slugify: (state, { title }) =>
      Effect.succeed({
        state,
        reply: title
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, "-")
          .replace(/^-|-$/g, "")
      })
  }
})

// ---- The backend: node:http and Promises. ----

const serve = process.argv.includes("--serve")
const port = Number(process.env.PORT ?? (serve ? 3000 : 0))
const secret = process.env.TROUPE_TOKEN ?? randomBytes(16).toString("hex") // the same 16+ characters on every node

const server = Http.createServer()
await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
const address = server.address() as { port: number }
const base = `http://127.0.0.1:${address.port}`

// Troupe on the same server: peers connect to ws://127.0.0.1:<port>/troupe.
const web = await Troupe.start({
  name: "web",
  transport: WebSocket.layer({ node: "web", secret, listen: { server, path: "/troupe" } })
})
const counter = await web.spawn(visits, { name: "visits" })

// A second node joins through the HTTP server's WebSocket path. It runs in this process for brevity;
// it could be another process or machine.
const worker = await Troupe.start({ name: "worker", transport: WebSocket.layer({ node: "worker", secret }) })
await worker.spawn(slugs, { name: "slugs" })
await worker.connect(`ws://127.0.0.1:${address.port}/troupe`)
const slugger = await web.lookup("/user/slugs", Slugs, { node: "worker" })

const json = (res: Http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

server.on("request", async (req, res) => {
  const url = new URL(req.url ?? "/", base)
  const page = /^\/visits\/([\w-]+)$/.exec(url.pathname)?.[1]
  try {
    if (page !== undefined && req.method === "POST") {
      await web.tell(counter, Visits.Visit({ page })) // fire and forget
      return json(res, 202, { page })
    }
    if (page !== undefined && req.method === "GET") {
      return json(res, 200, { page, visits: await web.ask(counter, Visits.Count({ page })) })
    }
    if (url.pathname === "/slug" && req.method === "GET") {
      const title = url.searchParams.get("title") ?? ""
      return json(res, 200, { slug: await web.ask(slugger, Slugs.Slugify({ title }), { timeout: "2 seconds" }) })
    }
    json(res, 404, { error: `no route ${req.method} ${url.pathname}` })
  } catch (error) {
    // the typed errors of Troupe (AskTimeout, ...) have a _tag and a message
    json(res, 500, { error: error instanceof Error ? error.message : String(error) })
  }
})

const stop = async () => {
  await worker.shutdown()
  await web.shutdown()
  await new Promise((resolve) => server.close(resolve))
  console.log("stopped")
}

if (serve) {
  console.log(`listening on ${base} (Troupe peers: ws://127.0.0.1:${address.port}/troupe); Ctrl-C stops`)
  process.once("SIGINT", () => void stop().then(() => process.exit(0)))
} else {
  for (const [method, path] of [
    ["POST", "/visits/home"],
    ["POST", "/visits/home"],
    ["GET", "/visits/home"],
    ["GET", "/slug?title=Hello, Troupe!"],
    ["GET", "/nowhere"]
  ] as const) {
    const response = await fetch(`${base}${path}`, { method })
    console.log(`${method} ${path} -> ${response.status} ${await response.text()}`)
  }
  await stop()
}
