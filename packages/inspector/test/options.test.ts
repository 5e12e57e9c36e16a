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
