/**
 * Options from plain JavaScript or a config file that are not what they should be: each fails where it comes in,
 * with a typed error naming the option and what it may be (they were defects deep inside, or accepted):
 * - `Telemetry.layerOtlp`: a `url` that is not one, an `exportInterval` that is not a duration: `ConfigError`;
 * - `OpenAi.layer` / `Anthropic.layer`: a `timeouts` entry that is not a duration: `SchemaError`;
 * - `Mcp.connect`: a `connectTimeout` / `timeout` that is not a duration, a `maxResultBytes` that is not a
 *   size: `McpError` of reason `ConfigurationError`, before anything is started;
 * - `Tool.fromAsk` / `Tool.fromActor` / `Agent.asTool`: a `timeout` that is not a duration throws a `TypeError` naming
 *   the tool where it is made (was a defect of each call, or with `failureMode: "return"` an error told to the model);
 * - `ScriptedModel`: a turn's `delay`, `interval` or `error.retryAfter` that is not a duration dies naming the turn.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Effect, Exit, Layer, Redacted, Schema } from "effect"
import { Agent, Anthropic, LanguageModel, Mcp, OpenAi, ScriptedModel, Telemetry, Tool, Turn } from "../src/index.ts"

/** Builds `layer`: its failure, or the defect's message if it died, or "built". */
const build = <A, E>(layer: Layer.Layer<A, E>) =>
  Effect.scoped(Layer.build(layer)).pipe(
    Effect.exit,
    Effect.map((exit) =>
      Exit.isSuccess(exit)
        ? ("built" as const)
        : (exit.cause.reasons.find((r) => r._tag === "Fail")?.error ??
          `defect: ${String(exit.cause.reasons.find((r) => r._tag === "Die")?.defect)}`)
    )
  )

/** What a bad duration's error must say: the option, the value, the forms. */
const namesDuration = (message: string, option: RegExp, value: string) => {
  assert.match(message, option)
  assert.include(message, value)
  assert.include(message, '"30 seconds"')
}

describe("options that are not what they should be", () => {
  it.effect("layerOtlp: a url that is not an http(s) URL is a ConfigError naming url", () =>
    Effect.gen(function* () {
      const error = yield* build(Telemetry.layerOtlp({ url: "not a url", serviceName: "svc" }))
      assert.strictEqual((error as { _tag?: string })._tag, "ConfigError")
      assert.include(String(error), '["url"]')
      assert.include(String(error), "http(s) URL")
    })
  )

  it.effect("layerOtlp: an exportInterval that is not a duration is a ConfigError naming it", () =>
    Effect.gen(function* () {
      const error = yield* build(
        Telemetry.layerOtlp({ url: "http://127.0.0.1:4318", serviceName: "svc", exportInterval: "5 secs" as never })
      )
      assert.strictEqual((error as { _tag?: string })._tag, "ConfigError")
      namesDuration(String(error), /\["exportInterval"\]/, '"5 secs"')
    })
  )

  for (const [name, layer] of [
    [
      "OpenAi",
      (timeouts: LanguageModel.Timeouts) =>
        OpenAi.layer({ apiKey: Redacted.make("k"), baseUrl: "http://127.0.0.1:9/v1", model: "m" }, { timeouts })
    ],
    [
      "Anthropic",
      (timeouts: LanguageModel.Timeouts) =>
        Anthropic.layer({ apiKey: Redacted.make("k"), baseUrl: "http://127.0.0.1:9", model: "m" }, { timeouts })
    ]
  ] as const) {
    it.effect(`${name}.layer: timeouts that are not durations are a SchemaError naming each`, () =>
      Effect.gen(function* () {
        const error = yield* build(layer({ idle: "5 secs", overall: -1 } as never))
        assert.strictEqual((error as { _tag?: string })._tag, "SchemaError")
        namesDuration(String(error), /\["timeouts"\]\["idle"\]/, '"5 secs"')
        namesDuration(String(error), /\["timeouts"\]\["overall"\]/, "got -1")
        assert.strictEqual(yield* build(layer({ idle: "5 seconds", overall: 60_000 })), "built")
      })
    )
  }

  it.effect("Mcp.connect: a bad connectTimeout, timeout or maxResultBytes is an McpError (ConfigurationError)", () =>
    Effect.gen(function* () {
      const server = { command: "troupe-no-such-mcp-server" }
      for (const [options, says] of [
        [{ connectTimeout: "30 secs" }, 'connectTimeout is "30 secs"'],
        [{ timeout: Number.NaN }, "timeout is NaN"],
        [{ maxResultBytes: 0 }, "maxResultBytes is 0: expected a whole number of bytes from 1"]
      ] as const) {
        const error = yield* Effect.flip(Effect.scoped(Mcp.connect(server, options as Mcp.Options)))
        assert.strictEqual(error.reason, "ConfigurationError")
        assert.include(error.message, says)
      }
    })
  )

  it.effect(
    "Tool.fromAsk, fromActor, Agent.asTool: a timeout that is not a duration throws a TypeError naming it",
    () =>
      Effect.gen(function* () {
        const Echo = Protocol.make("Echo", {
          Say: Protocol.request({ text: Schema.String }, { success: Schema.String })
        })
        const echo = yield* ActorSystem.spawn(
          Behavior.make(Echo, {
            initial: null,
            receive: { Say: (s, { text }) => Effect.succeed({ state: s, reply: text }) }
          })
        )
        const agent = yield* ActorSystem.spawn(Agent.make({ name: "helper" }))
        const thrown = (f: () => unknown) => {
          try {
            f()
            return "nothing thrown"
          } catch (error) {
            return error
          }
        }
        const ask = { description: "d", parameters: Schema.Struct({ text: Schema.String }), actor: echo }
        for (const [make, says] of [
          [
            () => Tool.fromAsk("say", { ...ask, request: Echo.Say, timeout: "2 secs" as never }),
            'Tool "say": timeout is "2 secs"'
          ],
          [() => Tool.fromActor(echo, { timeout: -1 }), 'Tool "Say": timeout is -1'],
          [() => Agent.asTool("help", { agent, description: "d", timeout: Number.NaN }), 'Tool "help": timeout is NaN']
        ] as const) {
          const error = thrown(make)
          assert.instanceOf(error, TypeError, String(error))
          assert.include((error as Error).message, says)
          assert.include((error as Error).message, '"30 seconds"')
        }
        assert.strictEqual(Tool.fromAsk("say", { ...ask, request: Echo.Say, timeout: "2 seconds" }).name, "say")
      }).pipe(Effect.scoped, Effect.provide(Layer.merge(ActorSystem.layer(), ScriptedModel.layer([]))))
  )

  it.effect("ScriptedModel: a turn's delay, interval or retryAfter that is not a duration dies naming the turn", () =>
    Effect.gen(function* () {
      for (const [turn, says] of [
        [Turn.text("hi", { delay: "1 sec0" as never }), 'turn #0: delay is "1 sec0"'],
        [Turn.text("hi", { interval: -5 }), "turn #0: interval is -5"],
        [Turn.error(429, { retryAfter: "soon" as never }), 'turn #0: error.retryAfter is "soon"']
      ] as const) {
        const exit = yield* Effect.exit(
          LanguageModel.generate({ prompt: "hi" }).pipe(Effect.provide(ScriptedModel.layer([turn])))
        )
        const defect = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Die")?.defect : undefined
        assert.instanceOf(defect, TypeError, String(exit))
        assert.include((defect as Error).message, says)
      }
    })
  )
})
