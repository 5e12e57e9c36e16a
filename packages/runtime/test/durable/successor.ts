/**
 * Test support: another host taking this node's name over, as a successor does once this one's lease ran out.
 */
import { hostname } from "node:os"
import { ActorSystem, DurableSession } from "@troupe/runtime"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/** A holder on another host (never this process: a claim of the name must not take it for itself). */
export const elsewhere = { pid: 4242, host: `not-${hostname()}`, boot: "b", processStart: "1", startedAt: 0 }

/**
 * Takes node name `n` over in the storage's table as a successor on another host does: a new epoch and token, that
 * host the holder (and, with `heartbeatNow`, a fresh heartbeat). The holder finds out at its next write.
 *
 * @example
 * ```ts
 * yield* takeOver()
 * yield* ref.tell(Counter.Add({ n: 3 })) // this write finds the name taken
 * ```
 */
export const takeOver = (options: { readonly heartbeatNow?: boolean } = {}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const holder = JSON.stringify(elsewhere)
    yield* options.heartbeatNow === true
      ? sql`UPDATE troupe_nodes SET epoch = epoch + 1, token = 'successor', holder = ${holder},
          heartbeat_at = ${Date.now()} WHERE node = 'n'`
      : sql`UPDATE troupe_nodes SET epoch = epoch + 1, token = 'successor', holder = ${holder} WHERE node = 'n'`
  })

/**
 * Claims node name `node` as a node of durable sessions does (its recovery), with the storage in context.
 *
 * @example
 * ```ts
 * yield* claim("n").pipe(Effect.provideContext(storage))
 * ```
 */
export const claim = (node: string) =>
  DurableSession.recover([]).pipe(Effect.provide(ActorSystem.layer({ name: node })), Effect.asVoid)
