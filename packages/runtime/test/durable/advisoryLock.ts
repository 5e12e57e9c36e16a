/**
 * Test support: a PostgreSQL advisory lock held on a connection of its own until released, so that the statements
 * that take it wait: a holder made busy for as long as a test says.
 */
import { Deferred, Effect, Fiber } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Takes advisory lock `key` on a connection of its own (scoped); returns what releases it.
 *
 * @example
 * ```ts
 * const release = yield* holdAdvisoryLock(4242)
 * // statements that run `SELECT pg_advisory_lock(4242)` wait here
 * yield* release
 * ```
 */
export const holdAdvisoryLock = (key: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const locked = yield* Deferred.make<void>()
    const unlock = yield* Deferred.make<void>()
    const holder = yield* Effect.forkScoped(
      Effect.scoped(
        Effect.gen(function* () {
          const connection = yield* sql.reserve
          yield* connection.executeUnprepared(`SELECT pg_advisory_lock(${key})`, [], undefined)
          yield* Deferred.succeed(locked, undefined)
          yield* Deferred.await(unlock)
          yield* connection.executeUnprepared(`SELECT pg_advisory_unlock(${key})`, [], undefined)
        })
      )
    )
    yield* Deferred.await(locked)
    return Effect.andThen(Deferred.succeed(unlock, undefined), Fiber.join(holder))
  })
