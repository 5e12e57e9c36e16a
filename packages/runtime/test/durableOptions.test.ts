/**
 * A durable behaviour's options given from plain JavaScript or a config file that are not what they may be: an `id`
 * that is not a non-empty string, a `version` that is not a whole number of at least 1 (the database keeps it in an
 * INTEGER column, and migrations are looked up by it), `migrations` that are not functions. They throw
 * `Durable.InvalidDurableOptions` where the behaviour is made (`Entity.make`: `InvalidEntityOptions` for a durable
 * kind's, at once rather than at each entity's first message), naming the option. They were taken as given.
 */
import { assert, describe, it } from "@effect/vitest"
import { Behavior, Durable, Entity, Protocol } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import { thrown } from "./fixtures.ts"

const Counter = Protocol.make("Counter", { Add: { n: Schema.Number } })
const counter = Behavior.make(Counter, { initial: 0, receive: { Add: (n, { n: more }) => Effect.succeed(n + more) } })

describe("durable options that are not what they may be", () => {
  it("Durable.persistent: id, version and migrations throw InvalidDurableOptions naming the option", () => {
    for (const [options, option, given] of [
      [{ id: "" }, "id", '""'],
      [{ id: 42 }, "id", "42"],
      [{ id: "c", version: 1.5 }, "version", "1.5"],
      [{ id: "c", version: 0 }, "version", "0"],
      [{ id: "c", version: "2" }, "version", '"2"'],
      [{ id: "c", version: 2, migrations: { 1: "add currency" } }, "migrations[1]", "not a function"]
    ] as const) {
      const error = thrown(() => Durable.persistent(counter, { state: Schema.Number, ...(options as { id: string }) }))
      assert.instanceOf(error, Durable.InvalidDurableOptions, String(error))
      assert.strictEqual((error as Durable.InvalidDurableOptions).option, option)
      assert.include((error as Error).message, given)
    }
    Durable.persistent(counter, { id: "c", state: Schema.Number, version: 2, migrations: { 1: (v) => v } })
  })

  it("Entity.make: a durable kind's version and migrations throw InvalidEntityOptions at once", () => {
    for (const [options, option, given] of [
      [{ version: -1 }, "version", "-1"],
      [{ version: 2, migrations: null }, "migrations", "not a function"]
    ] as const) {
      const error = thrown(() =>
        Entity.make("Counter", Counter, { behavior: () => counter, state: Schema.Number, ...(options as object) })
      )
      assert.instanceOf(error, Entity.InvalidEntityOptions, String(error))
      assert.strictEqual((error as Entity.InvalidEntityOptions).option, option)
      assert.include((error as Error).message, given)
    }
    // a kind that is not durable has no version to check
    Entity.make("Counter", Counter, { behavior: () => counter, version: 0.5 } as never)
  })
})
