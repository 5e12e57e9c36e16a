import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorRef, Entity, Troupe } from "@troupe/runtime"
import { Schema } from "effect"
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

describe("Troupe with storage", () => {
  it("keeps entities' state in a SQLite file across troupes, and sends durable messages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-promise-"))
    const file = join(dir, "api.db")
    const Counters = Entity.make("counter", Counter, { behavior: () => counter(), state: Schema.Number })
    const first = await Troupe.start({ name: "api", storage: { sqlite: file } })
    const ada = await first.entity(Counters, "ada")
    await first.tell(ada, Counter.Add({ n: 2 }), { durable: true, id: "r-1" })
    await first.tell(ada, Counter.Add({ n: 2 }), { durable: true, id: "r-1" })
    expect(await first.ask(ada, Counter.Get(), { durable: true, id: "r-2" })).toBe(2)
    await first.shutdown()
    const second = await Troupe.start({ name: "api", storage: { sqlite: file } })
    const again = await second.entity(Counters, "ada")
    expect(await second.ask(again, Counter.Get())).toBe(2)
    await second.shutdown()
    rmSync(dir, { recursive: true, force: true })
  })
})
