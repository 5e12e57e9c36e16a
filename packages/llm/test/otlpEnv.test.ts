/**
 * `Telemetry.layerOtlpConfig` as the OpenTelemetry variables are written in real deployments, against a real
 * OTLP/HTTP receiver:
 * - a header value holding `=` (base64 padding: `Authorization=Basic%20dXNlcjpwYXNzd29yZA==`, as collectors'
 *   setup pages give it) is sent whole, split at its first `=` only (it was dropped, and every export refused);
 * - an endpoint without its scheme (`localhost:4318`) or a header value that is not URL-encoded fails the layer
 *   with a `ConfigError` naming the variable (the first exported nowhere, silently; the second was a defect).
 */
import * as Http from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { Telemetry } from "../src/index.ts"

/** An OTLP/HTTP receiver that keeps the headers of each export. */
const receiver = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ url: string; server: Http.Server; headers: Array<Http.IncomingHttpHeaders> }>((resolve) => {
        const headers: Array<Http.IncomingHttpHeaders> = []
        const server = Http.createServer((req, res) => {
          headers.push(req.headers)
          req.resume()
          req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"))
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as { port: number }
          resolve({ url: `http://127.0.0.1:${port}`, server, headers })
        })
      })
  ),
  ({ server }) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
)

const traced = (env: Record<string, string>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const otlp = yield* Layer.build(Telemetry.layerOtlpConfig({ serviceName: "svc" }))
      yield* Effect.void.pipe(Effect.withSpan("configured"), Effect.provideContext(otlp))
    })
  ).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))

describe("OTLP from the environment, as deployments write it", () => {
  it.live("a header value with '=' in it is sent whole", () =>
    Effect.gen(function* () {
      const collector = yield* receiver
      yield* traced({
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Basic%20dXNlcjpwYXNzd29yZA==, x-team = blue"
      })
      assert.isAbove(collector.headers.length, 0)
      for (const headers of collector.headers) {
        assert.strictEqual(headers.authorization, "Basic dXNlcjpwYXNzd29yZA==")
        assert.strictEqual(headers["x-team"], "blue")
      }
    }).pipe(Effect.scoped)
  )

  it.live("an endpoint without http(s):// is a ConfigError naming the variable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(traced({ OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" }))
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(String(error), "OTEL_EXPORTER_OTLP_ENDPOINT")
    })
  )

  it.live("a header value that is not URL-encoded is a ConfigError naming the variable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        traced({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_HEADERS: "api-key=100%" })
      )
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(String(error), "OTEL_EXPORTER_OTLP_HEADERS")
    })
  )
})
