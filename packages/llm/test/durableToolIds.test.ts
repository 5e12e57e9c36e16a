/**
 * A durable agent on a compatible server that gives its tool calls no id (or the same id at every step: the
 * client names an id-less call `call_<position>`, so the first call of every step is `call_0`). The turn's
 * journal must tell the calls of different steps apart: a later step's call is a new call, run with its own
 * arguments (and, when it needs a person's approval, asked again), never answered with an earlier step's.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Desk, Storage } from "@troupe/runtime"
import { Effect, Fiber, Layer, Schema, type Scope, Stream } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { Agent, Approval, DurableAgent, type LanguageModel, OpenAiTestServer, Tool, Turn } from "../src/index.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-tool-ids-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

const weather = () => {
  const asked: Array<string> = []
  const tool = Tool.make("weather", {
    description: "Current temperature in a city, in °C",
    parameters: Schema.Struct({ city: Schema.String }),
    success: Schema.Struct({ celsius: Schema.Finite }),
    handler: ({ city }) =>
      Effect.sync(() => {
        asked.push(city)
        return { celsius: city === "Oslo" ? 3 : 21 }
      })
  })
  return { tool, asked }
}

// two steps each with one tool call whose id the server left empty, then the answer
const script = (second: string): Turn.Script => [
  Turn.toolCalls([{ name: "weather", arguments: { city: "Oslo" }, id: "" }]),
  Turn.toolCalls([{ name: "weather", arguments: { city: second }, id: "" }]),
  Turn.text("done")
]

const run = <A, E>(
  turns: Turn.Script,
  effect: Effect.Effect<
    A,
    E,
    | ActorSystem.ActorSystem
    | Storage.Storage
    | OpenAiTestServer.OpenAiTestServer
    | LanguageModel.LanguageModel
    | Scope.Scope
  >
) =>
  Effect.runPromise(
    Effect.scoped(effect).pipe(
      Effect.provide(ActorSystem.layer()),
      Effect.provide(
        Layer.mergeAll(
          OpenAiTestServer.layerModel(turns, { api: "chat" }),
          Storage.layerSqlite({ filename: join(dir, `db-${++files}.sqlite`) })
        )
      )
    )
  )

describe("a durable agent whose server repeats tool call ids across steps", () => {
  it("runs each step's call with its own arguments", async () => {
    const { tool, asked } = weather()
    const agent = DurableAgent.persistent({ id: "forecaster", name: "forecaster", tools: [tool] })
    const results = await run(
      script("London"),
      Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(agent, { name: "forecaster" })
        yield* ref.ask(Agent.Protocol.Ask({ prompt: "Oslo, then London?" }), { timeout: "30 seconds" })
        const transcript = yield* ref.ask(Agent.Protocol.Transcript())
        return transcript.flatMap((m) => (m._tag === "ToolResult" ? [m.output] : []))
      })
    )
    expect(asked).toEqual(["Oslo", "London"])
    expect(results).toEqual(['{"celsius":3}', '{"celsius":21}'])
  })

  it("asks a person again for a later step's call, even with the same arguments", async () => {
    const { tool, asked } = weather()
    const agent = DurableAgent.persistent({ id: "ops", name: "ops", tools: [Approval.required(tool)] })
    const questions = await run(
      script("Oslo"),
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const desk = Desk.of(system)
        const changes = yield* desk.changes
        // a person approves every call the agent asks about, and the test counts the questions
        const person = yield* changes.pipe(
          Stream.filter((change) => change._tag === "Asked"),
          Stream.mapEffect((change) => Effect.as(desk.answer(change.question.id, { decision: "approve" }), 1)),
          Stream.runFold(
            () => 0,
            (n, one) => n + one
          ),
          Effect.forkScoped
        )
        const ref = yield* ActorSystem.spawn(agent, { name: "ops" })
        yield* ref.ask(Agent.Protocol.Ask({ prompt: "Oslo twice" }), { timeout: "30 seconds" })
        yield* Fiber.interrupt(person)
        return asked.length
      })
    )
    expect(asked).toEqual(["Oslo", "Oslo"])
    expect(questions).toBe(2)
  })
})
