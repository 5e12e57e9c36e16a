/**
 * A node that only plays roles in durable sessions (it coordinates none, and has no durable actor) claims its node
 * name on its storage as its first role joins one (see "One process per node name" in docs/durability.md): a second
 * process (here a second storage of this process, which is refused the same way) with that name on that storage is
 * refused with `NodeNameTaken`, instead of recovering and resuming the same roles and running their `once` effects
 * again. Before, only coordinators and durable actors claimed: the participant node held no claim, and the second
 * one took the name.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, DurableSession, Storage } from "@troupe/runtime"
import { Effect, Exit, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, describe, expect, it } from "vitest"
import * as PairSession from "./support/pair-session.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-participant-claim-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("a node that only plays roles of durable sessions", () => {
  it("claims its node name as its role joins: another storage of that name is refused with NodeNameTaken", async () => {
    const filename = join(dir, "shared.sqlite")
    const storage = () => Layer.fresh(Storage.layerSqlite({ filename }))
    const { outcome, holders, second } = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          // (built in this scope: the participant's storage stays open while it runs)
          const participantStorage = yield* Layer.build(storage())
          // the participant node "p", with its own storage on the shared file: it only plays the reviewer
          const p = yield* PairSession.node("p", true)
          yield* p.spawn(PairSession.reviewer, { name: "r" }).pipe(Effect.provide(participantStorage))
          // the coordinator node "c", with its storage on the same file
          const outcome = yield* PairSession.run(p, { id: "s1", deadline: "20 seconds" }).pipe(
            Effect.provide(storage())
          )
          const holders = yield* Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            return yield* sql<{ node: string; holder: string; released: number }>`
              SELECT node, holder, released FROM troupe_nodes ORDER BY node`
          }).pipe(Effect.provide(Storage.sqliteClient({ filename })))
          // a second holder of "p" on the same storage (as a second process would be): its recovery claims the name
          const second = yield* Effect.exit(
            DurableSession.recover([PairSession.Pair]).pipe(
              Effect.provide(ActorSystem.layer({ name: "p" })),
              Effect.provide(storage())
            )
          )
          return { outcome, holders, second }
        })
      )
    )
    expect(Object.keys(outcome.results).sort()).toEqual(["Author", "Reviewer"])
    const p = holders.find((h) => h.node === "p")
    expect(p, `the rows of troupe_nodes: ${JSON.stringify(holders)}`).toBeDefined()
    expect(JSON.parse(p!.holder)).toMatchObject({ pid: process.pid })
    expect(Number(p!.released)).toBe(0)
    expect(Exit.isFailure(second), "the second holder of p was refused").toBe(true)
    if (Exit.isSuccess(second)) return
    const reason = second.cause.reasons[0]
    expect(reason?._tag, String(second.cause)).toBe("Fail")
    const error = (reason as { readonly error: { readonly _tag: string; readonly message: string } }).error
    expect(error._tag).toBe("NodeNameTaken")
    expect(error.message).toContain('"p"')
  }, 60_000)
})
