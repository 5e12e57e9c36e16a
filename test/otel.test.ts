/**
 * One trace across two nodes, exported over OTLP to a real HTTP receiver: a planner agent on node A asks a
 * researcher agent on node B (over the WebSocket transport) through a tool; both call a model on the OpenAI
 * wire. The receiver decodes OTLP/HTTP JSON and the test checks the spans' GenAI names, attributes and tree,
 * and the cost-per-agent metric.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import {
  Agent,
  LanguageModel,
  LlmRole,
  OpenAi,
  OpenAiTestServer,
  Pricing,
  ScriptedModel,
  Telemetry,
  Turn
} from "@troupe/llm"
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { WebSocket } from "@troupe/transport"
import { ConfigProvider, Effect, Exit, Layer, Option, Redacted, Schema, Scope, Tracer } from "effect"
import { webSocket } from "./support/topology.ts"

// ---------------------------------------------------------------------------------------------------------
// An OTLP/HTTP JSON receiver

interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly doubleValue?: number
  readonly boolValue?: boolean
  readonly arrayValue?: { readonly values: ReadonlyArray<OtlpValue> }
}
interface OtlpAttribute {
  readonly key: string
  readonly value: OtlpValue
}
interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<OtlpAttribute>
}

/** A received span, with its service and attributes as plain values. */
interface Span {
  readonly service: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly kind: number
  readonly attributes: Readonly<Record<string, unknown>>
}

const plainValue = (value: OtlpValue): unknown =>
  value.stringValue ??
  (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
  value.doubleValue ??
  value.boolValue ??
  value.arrayValue?.values.map(plainValue)

const attributesOf = (attributes: ReadonlyArray<OtlpAttribute> = []) =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, plainValue(value)]))

type Body = Record<string, ReadonlyArray<Record<string, unknown>>>

/** A node:http server that accepts OTLP/HTTP JSON exports and keeps what it decoded. */
const receiver = Effect.acquireRelease(
  Effect.promise(async () => {
    const bodies: Array<{ readonly path: string; readonly body: Body }> = []
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        assert.strictEqual(req.headers["content-type"], "application/json")
        bodies.push({ path: req.url ?? "", body: JSON.parse(Buffer.concat(chunks).toString("utf8")) })
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{}")
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return { server, bodies, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
  }),
  ({ server }) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
)

const serviceOf = (resource: unknown) =>
  String(attributesOf((resource as { attributes?: ReadonlyArray<OtlpAttribute> }).attributes)["service.name"])

const spansOf = (bodies: ReadonlyArray<{ readonly path: string; readonly body: Body }>): ReadonlyArray<Span> =>
  bodies
    .filter((b) => b.path === "/v1/traces")
    .flatMap(({ body }) =>
      (body.resourceSpans ?? []).flatMap((rs) =>
        ((rs.scopeSpans ?? []) as ReadonlyArray<{ spans: ReadonlyArray<OtlpSpan> }>).flatMap(({ spans }) =>
          spans.map((span) => ({
            service: serviceOf(rs.resource),
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            attributes: attributesOf(span.attributes)
          }))
        )
      )
    )

/** The data points of a sum metric, with the service that exported them. */
const sumPoints = (bodies: ReadonlyArray<{ readonly path: string; readonly body: Body }>, name: string) =>
  bodies
    .filter((b) => b.path === "/v1/metrics")
    .flatMap(({ body }) =>
      (body.resourceMetrics ?? []).flatMap((rm) =>
        (
          (rm.scopeMetrics ?? []) as ReadonlyArray<{
            metrics: ReadonlyArray<{
              name: string
              sum?: { dataPoints: ReadonlyArray<{ attributes: ReadonlyArray<OtlpAttribute>; asDouble?: number }> }
            }>
          }>
        ).flatMap(({ metrics }) =>
          metrics
            .filter((m) => m.name === name)
            .flatMap((m) =>
              (m.sum?.dataPoints ?? []).map((p) => ({
                service: serviceOf(rm.resource),
                attributes: attributesOf(p.attributes),
                value: p.asDouble
              }))
            )
        )
      )
    )

// ---------------------------------------------------------------------------------------------------------
// Two nodes

const secret = "otel-test-secret-0123456789"
const prices = { "gpt-test": { input: 1, output: 10 } }

/** A node: an actor system over WebSocket, tracing to the collector; its scope is closed by the test. */
const node = (name: string, collector: string, listen: boolean) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const telemetry = yield* Layer.buildWithScope(
      Telemetry.layerOtlp({ url: collector, serviceName: name, exportInterval: "200 millis" }),
      scope
    )
    const system = yield* ActorSystem.make({
      name,
      transport: WebSocket.layer({ node: name, secret, ...(listen ? { listen: { port: 0 } } : {}) })
    }).pipe(Effect.provideContext(telemetry), Scope.provide(scope))
    return { system, telemetry, close: Scope.close(scope, Exit.void) }
  })

/** A model on the OpenAI wire for one node, answering with `turns`. */
const model = (turns: ReadonlyArray<Turn.Turn>) =>
  Effect.gen(function* () {
    const server = yield* OpenAiTestServer.make(turns)
    return yield* Effect.orDie(
      OpenAi.make({ apiKey: Redacted.make("k"), baseUrl: server.url, model: "gpt-test", api: "chat" })
    )
  })

describe("OpenTelemetry over OTLP, across two nodes", () => {
  it.live("a planner on node A asks a researcher on node B: one trace, GenAI names, cost per agent", () =>
    Effect.gen(function* () {
      const collector = yield* receiver
      const b = yield* node("node-b", collector.url, true)
      const a = yield* node("node-a", collector.url, false)

      const researcherModel = yield* model([Turn.text("Oslo is cold in winter.")])
      yield* b.system
        .spawn(Agent.make({ name: "researcher" }), { name: "researcher" })
        .pipe(
          Effect.provideService(LanguageModel.LanguageModel, researcherModel),
          Pricing.withPrices(prices),
          Effect.provideContext(b.telemetry)
        )

      const nodeB = yield* a.system.connect(Option.getOrThrow(b.system.address))
      const researcher = yield* a.system.lookup("/user/researcher", Agent.Protocol, { node: nodeB })
      const plannerModel = yield* model([
        Turn.toolCall("research", { prompt: "Is Oslo cold?" }),
        Turn.text("Pack a coat.")
      ])
      const planner = yield* a.system
        .spawn(
          Agent.make({
            name: "planner",
            tools: [Agent.asTool("research", { agent: researcher, description: "Finds facts" })]
          }),
          { name: "planner" }
        )
        .pipe(
          Effect.provideService(LanguageModel.LanguageModel, plannerModel),
          Pricing.withPrices(prices),
          Effect.provideContext(a.telemetry)
        )

      const answer = yield* planner
        .ask(Agent.Protocol.Ask({ prompt: "Trip to Oslo?" }), { timeout: "20 seconds" })
        .pipe(Effect.withSpan("user request"), Effect.provideContext(a.telemetry))
      assert.strictEqual(answer, "Pack a coat.")
      // closing a node exports what it has left
      yield* a.close
      yield* b.close

      const spans = spansOf(collector.bodies)
      const root = spans.find((s) => s.name === "user request")
      assert.isDefined(root)
      const trace = spans.filter((s) => s.traceId === root!.traceId)
      const names = (service: string) =>
        trace
          .filter((s) => s.service === service && /^(invoke_agent|chat|execute_tool)/.test(s.name))
          .map((s) => s.name)
          .sort()
      assert.deepStrictEqual(names("node-a"), [
        "chat gpt-test",
        "chat gpt-test",
        "execute_tool research",
        "invoke_agent planner"
      ])
      assert.deepStrictEqual(names("node-b"), ["chat gpt-test", "invoke_agent researcher"])

      // the tree: node B's model call descends from node A's tool call, which descends from the request
      const byId = new Map(trace.map((s) => [s.spanId, s]))
      const ancestors = (span: Span): ReadonlyArray<string> => {
        const parent = span.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId)
        return parent === undefined ? [] : [`${parent.service}:${parent.name}`, ...ancestors(parent)]
      }
      const researcherChat = trace.find((s) => s.service === "node-b" && s.name === "chat gpt-test")!
      const chain = ancestors(researcherChat)
      const at = (name: string) => chain.indexOf(name)
      assert.isAbove(at("node-b:invoke_agent researcher"), -1, chain.join(" <- "))
      assert.isAbove(at("node-a:execute_tool research"), at("node-b:invoke_agent researcher"), chain.join(" <- "))
      assert.isAbove(at("node-a:invoke_agent planner"), at("node-a:execute_tool research"), chain.join(" <- "))
      assert.strictEqual(chain.at(-1), "node-a:user request")

      // attributes by the GenAI conventions
      assert.strictEqual(researcherChat.kind, 3) // CLIENT
      assert.deepInclude(researcherChat.attributes, {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-test",
        "gen_ai.response.model": "gpt-test",
        "server.address": "127.0.0.1",
        "troupe.agent": "researcher",
        "gen_ai.conversation.id": "/user/researcher"
      })
      assert.isAbove(researcherChat.attributes["gen_ai.usage.input_tokens"] as number, 0)
      assert.isAbove(researcherChat.attributes["gen_ai.usage.output_tokens"] as number, 0)
      const plannerSpan = trace.find((s) => s.name === "invoke_agent planner")!
      assert.strictEqual(plannerSpan.kind, 1) // INTERNAL
      assert.deepInclude(plannerSpan.attributes, {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "planner",
        "gen_ai.agent.id": "/user/planner"
      })
      const tool = trace.find((s) => s.name === "execute_tool research")!
      assert.deepInclude(tool.attributes, {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "research",
        "gen_ai.tool.type": "function"
      })

      // cost per agent, as a metric, from each node
      const cost = sumPoints(collector.bodies, "troupe_llm_cost_usd_total")
      const costOf = (service: string, agent: string) =>
        cost.filter((p) => p.service === service && p.attributes.agent === agent).at(-1)?.value ?? 0
      assert.isAbove(costOf("node-a", "planner"), 0)
      assert.isAbove(costOf("node-b", "researcher"), 0)
    }).pipe(Effect.scoped)
  )

  it.live("from the environment: OTEL_EXPORTER_OTLP_ENDPOINT exports, and without it nothing is sent", () =>
    Effect.gen(function* () {
      const collector = yield* receiver
      const traced = (env: Record<string, string>) =>
        Effect.scoped(
          Effect.gen(function* () {
            const otlp = yield* Layer.build(Telemetry.layerOtlpConfig({ serviceName: "from-code" }))
            yield* Effect.void.pipe(Effect.withSpan("configured"), Effect.provideContext(otlp))
          })
        ).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
      yield* traced({})
      assert.deepStrictEqual(spansOf(collector.bodies), [])
      yield* traced({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: "from-env" })
      assert.deepStrictEqual(
        spansOf(collector.bodies).map((s) => [s.service, s.name]),
        [["from-env", "configured"]]
      )
      const bad = yield* Effect.flip(traced({ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" }))
      assert.strictEqual(bad._tag, "ConfigError")
    }).pipe(Effect.scoped)
  )

  it.live("a collector that is down loses spans, not answers, and does not hold up shutdown", () =>
    Effect.gen(function* () {
      const collector = yield* receiver
      const url = collector.url
      yield* Effect.promise(() => new Promise((resolve) => collector.server.close(resolve)))
      const a = yield* node("lonely", url, false)
      const researcherModel = yield* model([Turn.text("Still here.")])
      const ref = yield* a.system
        .spawn(Agent.make({ name: "researcher" }))
        .pipe(Effect.provideService(LanguageModel.LanguageModel, researcherModel))
      const answer = yield* ref.ask(Agent.Protocol.Ask({ prompt: "?" }), { timeout: "10 seconds" })
      assert.strictEqual(answer, "Still here.")
      yield* a.close.pipe(
        Effect.timeoutOrElse({ duration: "15 seconds", orElse: () => Effect.die(new Error("shutdown hung")) })
      )
    }).pipe(Effect.scoped)
  )
})

describe("one trace through a session across nodes", () => {
  const Haggle = Choreography.makeUnsafe("Haggle", ["Buyer", "Seller"], ($) => [
    $.message("Buyer", "Seller", "request", Schema.Struct({ item: Schema.String })),
    $.message("Seller", "Buyer", "quote", Schema.Finite),
    $.message("Buyer", "Seller", "accept", Schema.Struct({ price: Schema.Finite }))
  ])
  const seller = Session.role(Haggle, "Seller", (ep) =>
    Effect.gen(function* () {
      const request = yield* ep.receive()
      const accepted = yield* (yield* request.next.send("Buyer", "quote", 30)).receive()
      yield* accepted.next.close()
      return accepted.payload.price
    })
  )
  const buyer = Session.role(Haggle, "Buyer", LlmRole.play({ prompt: "Buy a lamp." }))
  const move = (to: string, label: string, payload: unknown) => Turn.object({ move: { to, label, payload } })

  it.live(
    "an LLM role's model calls, on one node, and the other role's handling, on another, share the session's trace",
    () =>
      Effect.gen(function* () {
        const spans: Array<Tracer.NativeSpan> = []
        const tracer = Tracer.make({
          span: (options) => {
            const span = new Tracer.NativeSpan(options)
            spans.push(span)
            return span
          }
        })
        yield* Effect.gen(function* () {
          const [home, other] = yield* webSocket.start(["home", "other"])
          const buyerRef = yield* home!.system.spawn(buyer, { name: "buyer" })
          const sellerOnOther = yield* other!.system.spawn(seller, { name: "seller" })
          const sellerRef = yield* home!.system.lookup(sellerOnOther.path, Session.protocolOf(Haggle, "Seller"), {
            node: "other"
          })
          const done = yield* Session.run(Haggle, { id: "deal-1", roles: { Buyer: buyerRef, Seller: sellerRef } }).pipe(
            Effect.provideService(ActorSystem.ActorSystem, home!.system),
            Effect.withSpan("deal")
          )
          assert.strictEqual(done.results.Seller, 30)
        }).pipe(Effect.scoped, Effect.withTracer(tracer))

        const root = spans.find((s) => s.name === "deal")!
        const inTrace = spans.filter((s) => s.traceId === root.traceId)
        const chats = inTrace.filter((s) => s.name === "chat scripted")
        assert.strictEqual(chats.length, 2)
        for (const chat of chats) {
          assert.deepInclude(Object.fromEntries(chat.attributes), {
            "gen_ai.conversation.id": "deal-1",
            "troupe.agent": "Buyer"
          })
        }
        assert.strictEqual(inTrace.filter((s) => s.name === "invoke_agent Buyer").length, 2)
        // the seller's handling, on the other node, is in the same trace
        assert.isTrue(
          inTrace.some((s) => s.name.startsWith("seller.")),
          inTrace.map((s) => s.name).join(", ")
        )
      }).pipe(
        Effect.provide(
          ScriptedModel.layer([move("Seller", "request", { item: "lamp" }), move("Seller", "accept", { price: 30 })])
        )
      )
  )
})
