/**
 * A durable session whose role answers its Join that it cannot join ends at once with that answer: a participant
 * spawned on a node with no Storage answers `ParticipantFailed`. Before, the coordinator asked it again every
 * 200 ms until the session's deadline and then ended it with `SessionNodeLost`, naming a node that was alive.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Storage } from "@troupe/runtime"
import { Effect, Exit, Layer } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as PairSession from "./support/pair-session.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-durable-join-refused-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("a durable session whose role cannot join", () => {
  it("ends at once with the role's ParticipantFailed (a participant on a node with no Storage), not SessionNodeLost at its deadline", async () => {
    const { exit, millis } = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          // the reviewer's node has no Storage
          const plain = yield* PairSession.node("plain", true)
          yield* plain.spawn(PairSession.reviewer, { name: "r" })
          return yield* Effect.gen(function* () {
            const started = Date.now()
            const exit = yield* Effect.exit(PairSession.run(plain, { id: "refused", deadline: "30 seconds" }))
            return { exit, millis: Date.now() - started }
          }).pipe(Effect.provide(Layer.fresh(Storage.layerSqlite({ filename: join(dir, "stored.sqlite") }))))
        })
      )
    )
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isSuccess(exit)) return
    const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
    const error = (failure as { error: { _tag: string; cause?: { _tag: string; cause?: string } } } | undefined)?.error
    expect(error?._tag, String(exit.cause)).toBe("SessionAborted")
    expect(error?.cause?._tag, String(exit.cause)).toBe("ParticipantFailed")
    expect(error?.cause?.cause).toContain("no Storage")
    // the deadline is 30 s: ended by the answer, not by the deadline
    expect(millis).toBeLessThan(15_000)
  }, 60_000)
})
