/**
 * A storage outlives the actor systems started and stopped over it (a test suite, a program that starts a system per
 * job): the fencing listener a system registers on it (see `fencing.ts`) is dropped when the system stops. Before,
 * each system's listener stayed on the storage until it closed, and with it the whole system (its actors, their
 * states): 20 stopped systems were all still reachable.
 */
import { ActorSystem } from "@troupe/runtime"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { Counter, durableCounter } from "../fixtures.ts"
import { databases } from "./databases.ts"

const SYSTEMS = 20

const counter = durableCounter("c")

const gc = (globalThis as { gc?: () => void }).gc

const sqlite = databases().find((db) => db.name === "sqlite")!

describe("systems started and stopped over one storage", () => {
  it("leave no fencing listener behind: every stopped system can be collected", async () => {
    expect(gc, "the tests run with --expose-gc").toBeDefined()
    const location = await sqlite.fresh()
    const systems: Array<WeakRef<object>> = []
    const alive = await Effect.runPromise(
      Effect.gen(function* () {
        const context = yield* Layer.build(sqlite.layer(location))
        for (let i = 0; i < SYSTEMS; i++) {
          // a system whose durable actor claims the node name (and watches the storage's fence), then stops
          const total = yield* Effect.gen(function* () {
            const system = yield* ActorSystem.ActorSystem
            systems.push(new WeakRef(system))
            const ref = yield* ActorSystem.spawn(counter, { name: "c" })
            yield* ref.tell(Counter.Add({ n: 1 }))
            return yield* ref.ask(Counter.Get())
          }).pipe(Effect.provide(ActorSystem.layer({ name: "n" })), Effect.provideContext(context))
          expect(total).toBe(i + 1)
        }
        // while the storage is open (it outlives them, as a long-lived one does); a WeakRef's target is kept until the
        // end of the job that made it
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 0)))
        gc!()
        gc!()
        return systems.filter((s) => s.deref() !== undefined).length
      }).pipe(Effect.scoped)
    )
    expect(alive, "stopped systems still reachable").toBe(0)
  }, 60_000)
})
