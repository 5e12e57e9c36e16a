/**
 * The Promise API: refs, services for the actors, agents by id (get-or-spawn), durable agents and passivation.
 * (Sessions, their events and the system's events: `troupe-sessions.test.ts`.)
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorRef, Behavior, Entity, Protocol, Storage, Troupe } from "@troupe/runtime"
import { Context, Effect, Layer, Schema } from "effect"
import { afterAll, describe, expect, expectTypeOf, it } from "vitest"
import { Counter, counter } from "./fixtures.ts"

/** A service the actors need, released after them. */
class Greeting extends Context.Service<Greeting, { readonly text: string }>()("test/Greeting") {}

const greetingLayer = (log: Array<string>) =>
  Layer.effect(
    Greeting,
    Effect.acquireRelease(
      Effect.sync(() => {
        log.push("greeting acquired")
        return { text: "Hello" }
      }),
      () => Effect.sync(() => log.push("greeting released"))
    )
  )

const Greeter = Protocol.make("Greeter", {
  Greet: Protocol.request({ name: Schema.String }, { success: Schema.String })
})

const greeter = (log: Array<string>) =>
  Behavior.make(Greeter, {
    init: () =>
      Effect.as(
        Effect.addFinalizer(() => Effect.sync(() => log.push("greeter stopped"))),
        0
      ),
    receive: {
      Greet: (greeted, { name }) =>
        Greeting.use(({ text }) => Effect.succeed({ state: greeted + 1, reply: `${text}, ${name} (${greeted + 1})` }))
    }
  })

describe("Troupe: refs", () => {
  it("spawns, tells, asks, looks up, stops and shuts down with Promises", async () => {
    const troupe = await Troupe.start({ name: "promises" })
    const ref = await troupe.spawn(counter(), { name: "counter" })
    expect(ref.path).toBe("/user/counter")
    await ref.tell(Counter.Add({ n: 2 }))
    await troupe.tell(ref, Counter.Add({ n: 1 }))
    expect(await ref.ask(Counter.Get())).toBe(3)
    const found = await troupe.lookup("/user/counter", Counter)
    expect(await found.ask(Counter.Get())).toBe(3)
    // an Effect ref works too, and comes back as the same actor
    const actor = await ref.actorRef()
    expect(await troupe.ask(actor, Counter.Get())).toBe(3)
    expect((await troupe.ref(actor).actorRef()) === actor).toBe(true)
    await ref.stop()
    const error = await ref.ask(Counter.Get()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ActorRef.RecipientTerminated)
    expect(Troupe.isError(error, "RecipientTerminated")).toBe(true)
    await expect(troupe.lookup("/user/counter", Counter)).rejects.toMatchObject({ _tag: "ActorNotFound" })
    await troupe.shutdown()
    await troupe.shutdown() // idempotent
    await expect(troupe.spawn(counter())).rejects.toThrow()
  })

  it("disposes itself with `await using`", async () => {
    let ref: Troupe.Ref<typeof Counter> | undefined
    {
      await using troupe = await Troupe.start()
      ref = await troupe.spawn(counter(5))
      expect(await ref.ask(Counter.Get())).toBe(5)
    }
    await expect(ref.ask(Counter.Get())).rejects.toThrow()
  })
})

describe("Troupe: services", () => {
  it("gives the actors the services of `start`, built before and released after them", async () => {
    const log: Array<string> = []
    const troupe = await Troupe.start({ services: greetingLayer(log) })
    const ref = await troupe.spawn(greeter(log), { name: "greeter" })
    expect(await ref.ask(Greeter.Greet({ name: "Ada" }))).toBe("Hello, Ada (1)")
    expect(await troupe.run(Greeting.use(({ text }) => Effect.succeed(text)))).toBe("Hello")
    await troupe.shutdown()
    expect(log).toEqual(["greeting acquired", "greeter stopped", "greeting released"])
  })

  it("takes several layers, and rejects when one cannot be built", async () => {
    const log: Array<string> = []
    const troupe = await Troupe.start({ services: [greetingLayer(log), Layer.succeed(Other, { n: 1 })] })
    expect(await troupe.run(Other.use(({ n }) => Effect.succeed(n)))).toBe(1)
    await troupe.shutdown()
    const broken = Layer.effect(Greeting, Effect.fail(new Error("no database")))
    await expect(Troupe.start({ services: broken })).rejects.toThrow("no database")
  })

  it("types spawn by what the services provide", () => {
    const typeOnly = (_: () => unknown) => undefined
    typeOnly(async () => {
      const bare = await Troupe.start()
      // @ts-expect-error the greeter needs Greeting, which this troupe does not provide
      await bare.spawn(greeter([]))
      const provided = await Troupe.start({ services: greetingLayer([]) })
      const ref = await provided.spawn(greeter([]))
      expectTypeOf(ref).toEqualTypeOf<Troupe.Ref<typeof Greeter>>()
      expectTypeOf(await ref.ask(Greeter.Greet({ name: "x" }))).toEqualTypeOf<string>()
      // @ts-expect-error not a request of the protocol
      await ref.ask(Counter.Get())
      const asType: Troupe.Troupe<Greeting> = provided
      const actorRef: ActorRef<typeof Greeter> = await ref.actorRef()
      return [asType, actorRef]
    })
  })
})

class Other extends Context.Service<Other, { readonly n: number }>()("test/Other") {}

describe("Troupe: agents by id", () => {
  it("spawns the agent of an id on its first message, once, and keeps it", async () => {
    const troupe = await Troupe.start()
    const made: Array<string> = []
    const counters = troupe.agents("counter", (id) => {
      made.push(id)
      return counter()
    })
    const a = counters.get("a")
    expect(a.path).toBe("/user/counter/a")
    expect(counters.ids()).toEqual([]) // nothing spawned yet
    await Promise.all(Array.from({ length: 50 }, () => a.tell(Counter.Add({ n: 1 }))))
    expect(await counters.get("a").ask(Counter.Get())).toBe(50)
    expect(await counters.get("b").ask(Counter.Get())).toBe(0)
    expect(made).toEqual(["a", "b"])
    expect([...counters.ids()].sort()).toEqual(["a", "b"])
    await troupe.shutdown()
  })

  it("spawns it again after it stopped, with a fresh state", async () => {
    const troupe = await Troupe.start()
    const counters = troupe.agents("counter", () => counter())
    const a = counters.get("a")
    await a.tell(Counter.Add({ n: 7 }))
    expect(await a.ask(Counter.Get())).toBe(7)
    await a.stop()
    expect(counters.ids()).toEqual([])
    await counters.get("never-spawned").stop() // nothing to stop: nothing is spawned
    expect(counters.ids()).toEqual([])
    expect(await a.ask(Counter.Get())).toBe(0)
    await troupe.shutdown()
  })

  it("takes any id: characters actor names do not allow are escaped, and come back in ids()", async () => {
    const troupe = await Troupe.start()
    const counters = troupe.agents("counter", () => counter())
    const ids = ["user/42", "Zoë & Ada", "~tilde~", "a:b@c", "$dollar", "😀"]
    for (const id of ids) await counters.get(id).tell(Counter.Add({ n: 1 }))
    expect([...counters.ids()].sort()).toEqual([...ids].sort())
    expect(counters.get("user/42").path).toBe("/user/counter/user~2F42")
    for (const id of ids) expect(await counters.get(id).ask(Counter.Get())).toBe(1)
    await expect(counters.get("").ask(Counter.Get())).rejects.toMatchObject({ _tag: "InvalidName" })
    await troupe.shutdown()
  })

  it("refuses a kind that is taken or not a name, and a factory's failure reaches the caller", async () => {
    const troupe = await Troupe.start()
    troupe.agents("counter", () => counter())
    expect(() => troupe.agents("counter", () => counter())).toThrow(/already agents of kind "counter"/)
    expect(() => troupe.agents("a/b", () => counter())).toThrow(/Invalid actor name "a\/b"/)
    const broken = troupe.agents("broken", (id): Behavior.Behavior<typeof Counter, number> => {
      throw new Error(`cannot make ${id}`)
    })
    await expect(broken.get("x").ask(Counter.Get())).rejects.toThrow("cannot make x")
    await troupe.shutdown()
  })

  it("gives the agents the services of `start`", async () => {
    const troupe = await Troupe.start({ services: greetingLayer([]) })
    const greeters = troupe.agents("greeter", () => greeter([]))
    expect(await greeters.get("x").ask(Greeter.Greet({ name: "Ada" }))).toBe("Hello, Ada (1)")
    expect(await greeters.get("x").ask(Greeter.Greet({ name: "Bo" }))).toBe("Hello, Bo (2)")
    await troupe.shutdown()
  })
})

/** Resolves once `predicate` holds, checked at each turn of the event loop. */
const until = async (predicate: () => boolean) => {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve))
}

describe("Troupe: durable agents and passivation", () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-promise-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const Counters = Entity.make("counter", Counter, { behavior: () => counter(), state: Schema.Number })

  it("keeps a durable kind's state in a SQLite file across troupes, and handles a durable message once per id", async () => {
    const file = join(dir, "api.db")
    const first = await Troupe.start({ name: "api", services: Storage.layerSqlite({ filename: file }) })
    const ada = first.agents(Counters).get("ada")
    expect(ada.path).toBe("/user/counter/ada")
    await ada.tell(Counter.Add({ n: 2 }), { durable: true, id: "r-1" })
    await first.tell(ada, Counter.Add({ n: 2 }), { durable: true, id: "r-1" }) // the same request again
    expect(await ada.ask(Counter.Get(), { durable: true, id: "r-2" })).toBe(2)
    await ada.tell(Counter.Add({ n: 5 }), { durable: true, id: "r-3" })
    expect(await ada.ask(Counter.Get(), { durable: true, id: "r-2" })).toBe(2) // r-2's first reply
    await first.shutdown()
    const second = await Troupe.start({ name: "api", services: Storage.layerSqlite({ filename: file }) })
    const counters = second.agents(Counters)
    expect(counters.ids()).toEqual([])
    expect(await counters.get("ada").ask(Counter.Get())).toBe(7)
    expect(counters.ids()).toEqual(["ada"])
    await second.shutdown()
  })

  it("passivates idle agents (a plain kind forgets, a durable one comes back from storage); no message is lost", async () => {
    const troupe = await Troupe.start({ services: Storage.layerSqlite({ filename: join(dir, "idle.db") }) })
    const plain = troupe.agents("plain", () => counter(), { passivateAfter: "20 millis" })
    const durable = troupe.agents(
      Entity.make("durable", Counter, { behavior: () => counter(), state: Schema.Number, passivateAfter: "20 millis" })
    )
    for (const agents of [plain, durable]) {
      await Promise.all(Array.from({ length: 100 }, () => agents.get("x").tell(Counter.Add({ n: 1 }))))
      expect(await agents.get("x").ask(Counter.Get())).toBe(100)
      await until(() => agents.ids().length === 0)
    }
    expect(await plain.get("x").ask(Counter.Get())).toBe(0)
    expect(await durable.get("x").ask(Counter.Get())).toBe(100)
    // messages sent while passivation runs wait for the next incarnation
    await until(() => durable.ids().length === 0)
    await Promise.all(Array.from({ length: 50 }, () => durable.get("x").tell(Counter.Add({ n: 1 }))))
    expect(await durable.get("x").ask(Counter.Get())).toBe(150)
    await troupe.shutdown()
  })

  it("refuses a durable message to an agent that is not durable, or without storage, with a clear error", async () => {
    const troupe = await Troupe.start({ services: Storage.layerSqlite({ filename: join(dir, "refuse.db") }) })
    const plain = troupe.agents("plain", () => counter())
    await expect(plain.get("x").tell(Counter.Add({ n: 1 }), { durable: true })).rejects.toMatchObject({
      _tag: "NotDurable",
      message: expect.stringContaining("Durable.persistent")
    })
    expect(() => troupe.agents(Counters)).not.toThrow()
    expect(() => troupe.agents(Counters)).toThrow(/already agents of kind "counter"/)
    await troupe.shutdown()
    const bare = await Troupe.start()
    const ref = await bare.spawn(counter())
    await expect(ref.tell(Counter.Add({ n: 1 }), { durable: true })).rejects.toThrow(/needs storage/)
    // @ts-expect-error a durable kind needs Storage among the services
    bare.agents(Counters)
    await bare.shutdown()
  })
})
