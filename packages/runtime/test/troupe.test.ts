import { ActorRef, Troupe } from "@troupe/runtime"
import { describe, expect, it } from "vitest"
import { Counter, counter } from "./fixtures.ts"

describe("Troupe (the Promise API)", () => {
  it("starts a system, spawns, tells, asks, stops and shuts down with Promises", async () => {
    const troupe = await Troupe.start({ name: "promises" })
    const ref = await troupe.spawn(counter(), { name: "counter" })
    await troupe.tell(ref, Counter.Add({ n: 2 }))
    expect(await troupe.ask(ref, Counter.Get())).toBe(2)
    expect(await troupe.lookup("/user/counter", Counter)).toBe(ref)
    await troupe.stop(ref)
    const error = await troupe.ask(ref, Counter.Get()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ActorRef.RecipientTerminated)
    await expect(troupe.lookup("/user/counter", Counter)).rejects.toMatchObject({ _tag: "ActorNotFound" })
    await troupe.shutdown()
    await expect(troupe.spawn(counter())).rejects.toThrow()
  })
})
