/**
 * The inspector's HTTP server: the page and its assets (shipped in the package, nothing fetched from
 * elsewhere), the state (`GET /api/state`), the live stream (`GET /api/events`, Server-Sent Events) and the
 * actions (`POST /api/act`, with `Authorization: Bearer <token>`).
 */
import { timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import { join } from "node:path"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { ByteSize, Context, Effect, Layer, Redacted, Schema, type Scope, Stream } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as View from "../View.ts"
import { type ActionFailed, whyNotAnAction } from "./actions.ts"
import type { Store } from "./store.ts"

const assets = join(import.meta.dirname, "..", "..", "assets")

/** The page's files, read once. */
const files: ReadonlyArray<readonly [route: `/${string}`, file: string, type: string]> = [
  ["/", "index.html", "text/html; charset=utf-8"],
  ["/app.js", "app.js", "text/javascript; charset=utf-8"],
  ["/app.css", "app.css", "text/css; charset=utf-8"]
]

/** How the server is set up. */
export interface Settings {
  readonly port: number
  readonly host: string
  readonly token: Redacted.Redacted<string> | undefined
  readonly act: (action: View.Action) => Effect.Effect<string, ActionFailed>
  /** Counts the pages (and other clients) following the live stream. */
  readonly viewers: { count: number }
}

const sameToken = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const problem = (status: number, error: string) => HttpServerResponse.jsonUnsafe({ error }, { status })

const decodeAction = Schema.decodeUnknownEffect(View.Action)

const loopback = new Set(["127.0.0.1", "localhost", "::1", "[::1]"])

/** Whether a request's `Host` names this server: any name when it listens on every interface. */
const hostAllowed = (listening: string, header: string | undefined): boolean => {
  if (!loopback.has(listening)) return true
  if (header === undefined) return false
  const name = header.startsWith("[") ? header.slice(0, header.indexOf("]") + 1) : header.split(":")[0]!
  return loopback.has(name.toLowerCase())
}

/** Serves the inspector until the scope closes; answers the address it listens on. */
export const serve = (
  store: Store,
  settings: Settings
): Effect.Effect<{ readonly host: string; readonly port: number }, HttpServerErrorServe, Scope.Scope> =>
  Effect.gen(function* () {
    const pages = files.map(([route, file, type]) => {
      const body = readFileSync(join(assets, file), "utf8")
      return HttpRouter.add("GET", route, HttpServerResponse.text(body, { contentType: type }))
    })

    const state = HttpRouter.add(
      "GET",
      "/api/state",
      Effect.sync(() => HttpServerResponse.jsonUnsafe(store.state))
    )

    const events = HttpRouter.add(
      "GET",
      "/api/events",
      Effect.sync(() => {
        const body = Stream.unwrap(
          Effect.acquireRelease(
            Effect.sync(() => settings.viewers.count++),
            () => Effect.sync(() => settings.viewers.count--)
          ).pipe(
            Effect.andThen(
              Effect.map(store.subscribe(), ({ state, seq, batches }) =>
                Stream.concat(
                  Stream.make(`retry: 1000\nid: ${seq}\nevent: reset\ndata: ${state}\n\n`),
                  Stream.merge(
                    batches.pipe(
                      Stream.filter((batch) => batch.seq > seq),
                      // its number, so that a page that missed batches (it fell behind) starts again
                      Stream.map((batch) => `id: ${batch.seq}\nevent: patch\ndata: ${batch.json}\n\n`)
                    ),
                    // a comment now and then keeps proxies from closing an idle stream
                    Stream.tick("15 seconds").pipe(Stream.map(() => ": keep-alive\n\n"))
                  )
                )
              )
            )
          )
        ).pipe(Stream.encodeText)
        return HttpServerResponse.stream(body, {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
        })
      })
    )

    const act = HttpRouter.add(
      "POST",
      "/api/act",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (settings.token === undefined)
          return problem(403, `This inspector is read-only: start the node with an inspector token to act`)
        const header = request.headers.authorization ?? ""
        const given = header.startsWith("Bearer ") ? header.slice(7) : ""
        if (!sameToken(given, Redacted.value(settings.token)))
          return problem(401, "A valid token is needed to act: open the URL the node printed (it carries the token)")
        const body = yield* request.json.pipe(
          Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.kilobytes(256)),
          Effect.orElseSucceed(() => undefined)
        )
        const decoded = yield* Effect.result(decodeAction(body))
        if (decoded._tag === "Failure") return problem(400, whyNotAnAction(body))
        const done = yield* Effect.result(settings.act(decoded.success))
        if (done._tag === "Failure") return problem(done.failure.status, done.failure.reason)
        return HttpServerResponse.jsonUnsafe({ ok: true, result: done.success })
      })
    )

    const app = Layer.mergeAll(state, events, act, ...pages)
    const context = yield* Layer.build(
      HttpRouter.serve(app, {
        disableLogger: true,
        disableListenLog: true,
        // on this machine only, it answers only to this machine's names: a page elsewhere cannot read it by
        // rebinding its own name to 127.0.0.1
        middleware: (effect) =>
          Effect.gen(function* () {
            const request = yield* HttpServerRequest.HttpServerRequest
            return hostAllowed(settings.host, request.headers.host) ? yield* effect : problem(403, "Unknown host")
          })
      }).pipe(
        Layer.provideMerge(
          NodeHttpServer.layer(() => Http.createServer(), {
            port: settings.port,
            host: settings.host,
            gracefulShutdownTimeout: "1 second"
          })
        )
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    return { host: settings.host, port: address._tag === "UnixPathAddress" ? settings.port : address.port }
  })

/** The server could not listen (the port is taken, say). */
export type HttpServerErrorServe = Layer.Error<ReturnType<typeof NodeHttpServer.layer>>
