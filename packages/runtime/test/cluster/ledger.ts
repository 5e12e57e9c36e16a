/**
 * The sharded actor of the cluster tests: a ledger that records every sequence number it is told, so that a
 * test sees a message lost (missing) or handled twice (recorded twice).
 */
import { Behavior, Protocol, Sharded } from "@troupe/runtime"
import { Effect, Schema } from "effect"

export const Ledger = Protocol.make("Ledger", {
  Record: { seq: Schema.Number },
  Seen: Protocol.request({}, { success: Schema.Array(Schema.Number) }),
  Where: Protocol.request({}, { success: Schema.String })
})

export const ledger = (_id: string) =>
  Behavior.make(Ledger, {
    initial: [] as ReadonlyArray<number>,
    receive: {
      Record: (seen, { seq }) => Effect.succeed([...seen, seq]),
      Seen: (seen) => Effect.succeed({ state: seen, reply: seen }),
      Where: (seen) => Effect.succeed({ state: seen, reply: process.env.TROUPE_RUNNER_NAME ?? String(process.pid) })
    }
  })

export const Ledgers = Sharded.make("Ledger", {
  behavior: ledger,
  state: Schema.Array(Schema.Number),
  passivateAfter: "30 seconds",
  buckets: 256
})
