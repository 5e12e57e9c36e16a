/**
 * Options from plain JavaScript or a config file that are not what they should be: each fails where it comes in,
 * with a typed error naming the option and what it may be (they were defects deep inside, or accepted):
 * - `Telemetry.layerOtlp`: a `url` that is not one, an `exportInterval` that is not a duration: `ConfigError`;
 * - `OpenAi.layer` / `Anthropic.layer`: a `timeouts` entry that is not a duration: `SchemaError`;
 * - `Mcp.connect`: a `connectTimeout` / `timeout` that is not a duration, a `maxResultBytes` that is not a
 *   size: `McpError` of reason `ConfigurationError`, before anything is started.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import { Anthropic, type LanguageModel, Mcp, OpenAi, Telemetry } from "../src/index.ts"

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
})
