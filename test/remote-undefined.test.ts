/**
 * A value that JSON cannot carry whole: an object field whose value is `undefined` (JSON has no undefined, so the
 * key is left out on the wire). When the message's schema does not accept it without that key (a field of
 * `Schema.Unknown`, a required `Schema.Undefined` field), the message worked in one process and used to fail on the
 * other node: a remote tell returned success and vanished there ("did not decode"), and a session send was blamed
 * on the receiving role as a `ProtocolViolation`. It fails at the sender with `InvalidMessage` instead, as every
 * other message the wire refuses (issue 9, scenario 4); a field that may be absent still crosses (its key left out).
 * Both transports.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Choreography, Protocol, Session } from "@troupe/runtime"
import { Cause, Effect, Exit, Schema } from "effect"
import { pair, within } from "./support/remote-work.ts"
import { topologies } from "./support/topology.ts"

const Store = Protocol.make("Store", {
  Put: { key: Schema.String, value: Schema.Unknown },
  Maybe: { key: Schema.String, value: Schema.optional(Schema.Number) },
  Keys: Protocol.request({}, { success: Schema.Array(Schema.String) }),
  Get: Protocol.request({ key: Schema.String, value: Schema.Unknown }, { success: Schema.String })
})

const store = Behavior.make(Store, {
  initial: [] as ReadonlyArray<string>,
  receive: {
    Put: (keys, { key }) => Effect.succeed([...keys, key]),
    Maybe: (keys, { key }) => Effect.succeed([...keys, key]),
    Keys: (keys) => Effect.succeed({ state: keys, reply: [...keys] }),
    Get: (keys, { key }) => Effect.succeed({ state: keys, reply: key })
  }
})

const Hand = Choreography.makeUnsafe("Hand", ["Giver", "Taker"], ($) => [
  $.message("Giver", "Taker", "item", Schema.Struct({ value: Schema.Unknown })),
  $.message("Taker", "Giver", "thanks", Schema.String)
])
const giver = Session.role(Hand, "Giver", (ep) =>
  Effect.gen(function* () {
    const thanks = yield* (yield* ep.send("Taker", "item", { value: undefined })).receive()
    return thanks.payload
  })
)
const taker = Session.role(Hand, "Taker", (ep) =>
  Effect.flatMap(ep.receive(), (item) => item.next.send("Giver", "thanks", "got it"))
)

for (const topology of topologies) {
  describe(`a field whose value is undefined, across nodes (${topology.name})`, () => {
    it.live("a tell or ask the receiver could not decode fails at the sender with InvalidMessage", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"]))
        yield* alice.system.spawn(store, { name: "store" })
        const remote = yield* bob.system.lookup("/user/store", Store, { node: "alice" })
        const told = yield* Effect.flip(remote.tell(Store.Put({ key: "a", value: undefined })))
        assert.strictEqual(told._tag, "InvalidMessage")
        assert.include(told.message, "undefined")
        const asked = yield* Effect.flip(remote.ask(Store.Get({ key: "b", value: undefined })))
        assert.strictEqual(asked._tag, "InvalidMessage")
        // an optional field left undefined crosses as an absent key; other values cross as before
        yield* remote.tell(Store.Maybe({ key: "c", value: undefined }))
        yield* remote.tell(Store.Put({ key: "d", value: { nested: undefined } }))
        assert.deepStrictEqual(yield* remote.ask(Store.Keys()), ["c", "d"])
        assert.strictEqual(yield* alice.system.deadLetters, 0)
      })
    )

    it.live("a session send the other node could not decode aborts the session with InvalidMessage", () =>
      Effect.gen(function* () {
        const { alice, bob } = pair(yield* topology.start(["alice", "bob"]))
        const Giver = yield* alice.system.spawn(giver, { name: "giver" })
        const onBob = yield* bob.system.spawn(taker, { name: "taker" })
        const Taker = yield* alice.system.lookup(onBob.path, Session.protocolOf(Hand, "Taker"), { node: "bob" })
        const exit = yield* within(
          5000,
          "the session's end",
          Effect.exit(
            Session.run(Hand, { roles: { Giver, Taker }, stepTimeout: "20 seconds" }).pipe(
              Effect.provideService(ActorSystem.ActorSystem, alice.system)
            )
          )
        )
        assert.isTrue(Exit.isFailure(exit))
        const failure = String(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause))
        assert.include(failure, "InvalidMessage")
        assert.notInclude(failure, "Protocol violation")
      })
    )
  })
}
