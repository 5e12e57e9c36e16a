/**
 * The replies table of Effect Cluster's message storage locked, for tests: every read of stored messages waits at
 * the database (it joins `cluster_replies`) until `unlock`. A runner's read "in flight" across a shard handover,
 * held where a loaded runner's read would be held.
 */
import { type Context, Deferred, Effect, Fiber } from "effect"
import { SqlClient } from "effect/sql"

export interface RepliesLocked {
  /** Ends the lock's transaction: the reads waiting at the database go on. */
  readonly unlock: () => Promise<void>
}

/**
 * Locks `cluster_replies` in a transaction of a client of `db` and resolves once the lock is held.
 *
 * @example
 * const replies = await lockReplies(sql)
 * // ... reads issued now wait at the database
 * await replies.unlock()
 */
export const lockReplies = async (db: Context.Context<SqlClient.SqlClient>): Promise<RepliesLocked> => {
  const locked = Deferred.makeUnsafe<void>()
  const unlock = Deferred.makeUnsafe<void>()
  const holder = Effect.runFork(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`LOCK TABLE cluster_replies IN ACCESS EXCLUSIVE MODE`
          yield* Deferred.succeed(locked, undefined)
          yield* Deferred.await(unlock)
        })
      )
    ).pipe(Effect.provideContext(db))
  )
  await Effect.runPromise(Deferred.await(locked))
  return {
    unlock: async () => {
      await Effect.runPromise(Deferred.succeed(unlock, undefined))
      await Effect.runPromise(Fiber.join(holder))
    }
  }
}
