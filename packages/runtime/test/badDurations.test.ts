/**
 * Durations given by users from plain JavaScript or a config file that are not durations (`"5 sec0"`, `NaN`, `-1`):
 * each is a typed error where it is given, naming the option, what was given and the forms a duration may take. They
 * were defects (`Duration.fromInputUnsafe` threw deep inside) or timers that fired at once (`-1`, `NaN`).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ActorRef, ActorSystem, Behavior, Cluster, Entity, Protocol, Sharded, Supervisor } from "@troupe/runtime"
import { Effect, Exit, Layer, Schema } from "effect"
import { afterAll } from "vitest"
import { thrown } from "./fixtures.ts"

const Echo = Protocol.make("Echo", {
  Say: Protocol.request({ text: Schema.String }, { success: Schema.String })
})

/** Echoes, and counts what it handled (nothing should reach it when its ask is refused). */
const handled: Array<string> = []
const echo = () =>
  Behavior.make(Echo, {
    initial: null,
    receive: {
      Say: (state, { text }) =>
        Effect.sync(() => {
          handled.push(text)
          return { state, reply: text }
        })
    }
  })

/** What the error must say: the option, what was given, an example of a good value. */
const names = (message: string, option: string, given: string) => {
  assert.include(message, option)
  assert.include(message, given)
  assert.include(message, '"30 seconds"')
}

const dir = mkdtempSync(join(tmpdir(), "troupe-bad-durations-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("durations that are not durations", () => {
  it.effect("ActorSystem: askTimeout and shutdownTimeout are InvalidSystemOptions", () =>
    Effect.gen(function* () {
      for (const [options, option, given] of [
        [{ askTimeout: "5 sec0" }, "askTimeout", '"5 sec0"'],
        [{ shutdownTimeout: -1 }, "shutdownTimeout", "-1"],
        [{ askTimeout: Number.NaN }, "askTimeout", "NaN"]
      ] as const) {
        const error = yield* Effect.flip(Effect.scoped(ActorSystem.make(options as ActorSystem.Options)))
        assert.instanceOf(error, ActorSystem.InvalidSystemOptions)
        assert.strictEqual((error as ActorSystem.InvalidSystemOptions).option, option)
        names(error.message, option, given)
      }
    })
  )

  it.effect("spawn: a shutdownTimeout that is not a duration is SpawnFailed, and nothing is spawned", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(ActorSystem.spawn(echo(), { name: "e", shutdownTimeout: "1 sec0" as never }))
      assert.strictEqual(error._tag, "SpawnFailed")
      names(error.message, "shutdownTimeout", '"1 sec0"')
      // the name is free: nothing was made
      yield* ActorSystem.spawn(echo(), { name: "e", shutdownTimeout: "1 second" })
    }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer()))
  )

  it.effect("ask: a timeout that is not a duration is InvalidMessage, and the request is not sent", () =>
    Effect.gen(function* () {
      const ref = yield* ActorSystem.spawn(echo(), { name: "echo" })
      handled.length = 0
      for (const [timeout, given] of [
        ["2 secs", '"2 secs"'],
        [-1, "-1"],
        [Number.NaN, "NaN"]
      ] as const) {
        const error = yield* Effect.flip(ref.ask(Echo.Say({ text: "refused" }), { timeout: timeout as never }))
        assert.instanceOf(error, ActorRef.InvalidMessage)
        names(error.message, "timeout", given)
      }
      assert.strictEqual(yield* ref.ask(Echo.Say({ text: "ok" }), { timeout: 1000 }), "ok")
      assert.deepStrictEqual(handled, ["ok"])
    }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer()))
  )

  it("Supervisor: within, backoff min/max/resetAfter and jitter throw InvalidStrategy where they are given", () => {
    for (const [make, option, given] of [
      [() => Supervisor.oneForOne({ within: "10 sec" as never }), "within", '"10 sec"'],
      [() => Supervisor.backoff({ min: Number.NaN, max: "1 second" }), "backoff.min", "NaN"],
      [() => Supervisor.backoff({ min: 10, max: -1 }), "backoff.max", "-1"],
      [() => Supervisor.backoff({ min: 10, max: 100, resetAfter: "soon" as never }), "backoff.resetAfter", '"soon"'],
      [() => Supervisor.backoff({ max: 100 } as never), "backoff.min", "undefined"]
    ] as const) {
      const error = thrown(make)
      assert.instanceOf(error, Supervisor.InvalidStrategy, String(error))
      assert.strictEqual((error as Supervisor.InvalidStrategy).option, option)
      names((error as Error).message, option, given)
    }
    const jitter = thrown(() => Supervisor.backoff({ min: 10, max: 100, jitter: 2 }))
    assert.instanceOf(jitter, Supervisor.InvalidStrategy)
    assert.include((jitter as Error).message, "backoff.jitter is 2")
    assert.strictEqual(Supervisor.oneForAll({ within: "10 seconds" }).kind, "one-for-all")
  })

  it("Sharded.make: passivateAfter, handlerTimeout, stopTimeout and buckets throw InvalidShardedOptions", () => {
    for (const [options, option, given] of [
      [{ passivateAfter: "2 mins" }, "passivateAfter", '"2 mins"'],
      [{ handlerTimeout: -5 }, "handlerTimeout", "-5"],
      [{ stopTimeout: "30 sec" }, "stopTimeout", '"30 sec"']
    ] as const) {
      const error = thrown(() => Sharded.make("Echo", { behavior: echo, ...(options as object) }))
      assert.instanceOf(error, Sharded.InvalidShardedOptions, String(error))
      assert.strictEqual((error as Sharded.InvalidShardedOptions).option, option)
      names((error as Error).message, option, given)
      assert.include((error as Error).message, "Echo")
    }
    const buckets = thrown(() => Sharded.make("Echo", { behavior: echo, buckets: 0 }))
    assert.instanceOf(buckets, Sharded.InvalidShardedOptions)
    assert.include((buckets as Error).message, "buckets is 0")
  })

  it("Entity.make: passivateAfter and shutdownTimeout throw InvalidEntityOptions", () => {
    for (const [options, option, given] of [
      [{ passivateAfter: "10 min" }, "passivateAfter", '"10 min"'],
      [{ shutdownTimeout: Number.NaN }, "shutdownTimeout", "NaN"]
    ] as const) {
      const error = thrown(() => Entity.make("Echo", Echo, { behavior: echo, ...(options as object) }))
      assert.instanceOf(error, Entity.InvalidEntityOptions, String(error))
      assert.strictEqual((error as Entity.InvalidEntityOptions).option, option)
      names((error as Error).message, option, given)
    }
    assert.strictEqual(Entity.make("Echo", Echo, { behavior: echo, passivateAfter: "never" }).name, "Echo")
  })

  it.effect("Cluster: a runner's durations and shards are InvalidClusterOptions when its layer is built", () =>
    Effect.gen(function* () {
      for (const [options, option, given] of [
        [{ shardLockExpiration: "35 sec" }, "shardLockExpiration", '"35 sec"'],
        [{ storageStopTimeout: Number.NaN }, "storageStopTimeout", "NaN"],
        [{ nodeLease: -1 }, "nodeLease", "-1"]
      ] as const) {
        const layer = Cluster.layerSqlite({ filename: join(dir, "never.db"), ...(options as object) })
        const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
        assert.instanceOf(error, Cluster.InvalidClusterOptions, String(error))
        assert.strictEqual((error as Cluster.InvalidClusterOptions).option, option)
        names((error as Error).message, option, given)
      }
      const shards = yield* Effect.flip(
        Effect.scoped(Layer.build(Cluster.layerSqlite({ filename: join(dir, "never.db"), shards: 0 })))
      )
      assert.include(String((shards as Error).message), "shards is 0")
    })
  )

  it.live("a sharded actor's ask: a timeout that is not a duration is InvalidMessage, nothing sent", () =>
    Effect.gen(function* () {
      const Echoes = Sharded.make("Echo", { behavior: echo, buckets: 2 })
      handled.length = 0
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          const ref = yield* Sharded.ref(Echoes, "a")
          const error = yield* Effect.flip(ref.ask(Echo.Say({ text: "refused" }), { timeout: "1 sec0" as never }))
          assert.instanceOf(error, ActorRef.InvalidMessage)
          names(error.message, "timeout", '"1 sec0"')
          assert.strictEqual(yield* ref.ask(Echo.Say({ text: "ok" }), { timeout: "10 seconds" }), "ok")
        }).pipe(
          Effect.scoped,
          Effect.provide(
            Sharded.layer(Echoes).pipe(
              Layer.provideMerge(ActorSystem.layer()),
              Layer.provideMerge(Cluster.layerSqlite({ filename: join(dir, "sharded.db") }))
            )
          )
        )
      )
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.deepStrictEqual(handled, ["ok"])
    })
  )
})
