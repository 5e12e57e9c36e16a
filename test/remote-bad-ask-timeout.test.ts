/**
 * An ask of an actor on another node whose `timeout` is not a duration (`"2 secs"`, `-1`, `NaN` from plain
 * JavaScript): `InvalidMessage` at the sender naming the option, and nothing crosses the wire (it was a defect of the
 * ask, or with `-1` / `NaN` an `AskTimeout` at once after the request was sent). Both transports.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorRef, Behavior, Protocol } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import { pair } from "./support/remote-work.ts"
import { topologies } from "./support/topology.ts"

const Echo = Protocol.make("Echo", {
  Say: Protocol.request({ text: Schema.String }, { success: Schema.String }),
  Heard: Protocol.request({}, { success: Schema.Array(Schema.String) })
})

const echo = Behavior.make(Echo, {
  initial: [] as ReadonlyArray<string>,
  receive: {
    Say: (heard, { text }) => Effect.succeed({ state: [...heard, text], reply: text }),
    Heard: (heard) => Effect.succeed({ state: heard, reply: [...heard] })
  }
})

for (const topology of topologies) {
  describe(`an ask across nodes with a timeout that is not a duration (${topology.name})`, () => {
    it.live("is InvalidMessage at the sender naming the option; nothing is sent", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"]))
        yield* alice.system.spawn(echo, { name: "echo" })
        const remote = yield* bob.system.lookup("/user/echo", Echo, { node: "alice" })
        for (const [timeout, given] of [
          ["2 secs", '"2 secs"'],
          [-1, "-1"],
          [Number.NaN, "NaN"]
        ] as const) {
          const error = yield* Effect.flip(remote.ask(Echo.Say({ text: "refused" }), { timeout: timeout as never }))
          assert.instanceOf(error, ActorRef.InvalidMessage)
          assert.include(error.message, `timeout is ${given}`)
          assert.include(error.message, '"30 seconds"')
        }
        assert.strictEqual(yield* remote.ask(Echo.Say({ text: "ok" }), { timeout: "5 seconds" }), "ok")
        assert.deepStrictEqual(yield* remote.ask(Echo.Heard()), ["ok"])
      })
    )
  })
}
