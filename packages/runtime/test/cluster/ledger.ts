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

/**
 * What each ledger of `ids` has seen, asked through the cluster (10 at a time); a failed ask answers its error as
 * the ledger's one entry, so that a test's expectation names it.
 *
 * @example
 * const seen = await Effect.runPromise(seenBy(ids).pipe(Effect.provideContext(client)))
 * expect(seen.filter(([, s]) => s.join() !== "1")).toEqual([])
 */
export const seenBy = (ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const refs = yield* Sharded.refs(Ledgers)
    return yield* Effect.forEach(
      ids,
      (id) =>
        Effect.map(refs(id).ask(Ledger.Seen(), { timeout: "60 seconds" }), (s) => [id, s] as const).pipe(
          Effect.catch((error) => Effect.succeed([id, [String(error)]] as const))
        ),
      { concurrency: 10 }
    )
  })
