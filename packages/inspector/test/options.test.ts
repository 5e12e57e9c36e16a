/**
 * An inspector given a port that is not one (a negative number, past 65535, a fraction, NaN from an environment
 * variable that did not parse) fails to start with an `InspectorError` naming the port, as a port that is taken does,
 * not with Node's `RangeError` as a defect.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem } from "@troupe/runtime"
import { Effect } from "effect"
import { Inspector } from "../src/index.ts"

describe("an inspector given a port that is not one", () => {
  for (const port of [-1, 65_536, 1.5, Number.NaN]) {
    it.live(`port ${JSON.stringify(port)}: an InspectorError naming the port`, () =>
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const error = yield* Effect.flip(Effect.scoped(Inspector.start(system, { port })))
        assert.strictEqual(error._tag, "InspectorError")
        assert.strictEqual(error.part, "port")
        assert.include(error.message, "0 (any free port) to 65535")
      }).pipe(Effect.provide(ActorSystem.layer()))
    )
  }
})

// An interval from plain JavaScript or a config file that is not a duration ("5 secs", NaN) was a defect in the
// collector; one of 0 or less would read the actors in a busy loop.
describe("an inspector given an interval that is not one", () => {
  for (const interval of ["5 secs", Number.NaN, 0, "-1 seconds"]) {
    it.live(`interval ${JSON.stringify(interval)}: an InspectorError naming the interval`, () =>
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const error = yield* Effect.flip(Effect.scoped(Inspector.start(system, { interval: interval as never })))
        assert.strictEqual(error._tag, "InspectorError")
        assert.strictEqual(error.part, "interval")
        assert.include(error.message, '"500 millis"')
      }).pipe(Effect.provide(ActorSystem.layer()))
    )
  }
})
