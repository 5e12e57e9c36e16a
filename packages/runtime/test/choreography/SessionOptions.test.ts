/**
 * A session's options given from plain JavaScript or a config file that are not what they should be: a step timeout
 * or a durable session's deadline that is not a duration (`"5 sec0"`, `NaN`, `-1`), a step timeout for a role the
 * protocol does not have, a trace limit that is not a whole number of at least 0. Each is `InvalidSessionOptions`
 * naming the option, what was given and what to give, before anything is done for the session (no coordinator, no
 * place in line, nothing stored). They were a defect (`Duration.toMillis` threw after the session took its place),
 * or a session aborted at its first step (`-1`, `NaN` step timeouts fired at once), or ignored (a role's name
 * misspelled in `stepTimeouts`).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, DurableSession, Session, Storage } from "@troupe/runtime"
import { Effect, Layer, Option } from "effect"
import { afterAll } from "vitest"
import { Review } from "../../../choreography/test/fixtures.ts"
import { invalidOptions } from "../../src/choreography/internal/sessionOptions.ts"
import { Ask, askClient, askServer } from "./fixtures.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-session-options-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Options that are not what they should be: the option named, and what the message must show of the value. */
const bad = [
  [{ stepTimeout: "5 sec0" }, "stepTimeout", '"5 sec0"'],
  [{ stepTimeout: -1 }, "stepTimeout", "-1"],
  [{ stepTimeout: Number.NaN }, "stepTimeout", "NaN"],
  [{ stepTimeouts: { S: "1 minte" } }, "stepTimeouts.S", '"1 minte"'],
  [{ stepTimeouts: { Server: "1 minute" } }, "stepTimeouts.Server", "C, S"],
  [{ traceLimit: -1 }, "traceLimit", "-1"],
  [{ traceLimit: 2.5 }, "traceLimit", "2.5"]
] as const

const durableBad = [
  ...bad,
  [{ deadline: "30 sec" }, "deadline", '"30 sec"'],
  [{ deadline: Number.NaN }, "deadline", "NaN"],
  [{ deadline: -5 }, "deadline", "-5"],
  [{ deadline: "Infinity" }, "deadline", '"Infinity"']
] as const

/** The error of a start, with what it must say. */
const check = (error: unknown, option: string, given: string) => {
  assert.instanceOf(error, Session.InvalidSessionOptions, String(error))
  const invalid = error as Session.InvalidSessionOptions
  assert.strictEqual(invalid.option, option)
  assert.strictEqual(invalid.protocol, "Ask")
  assert.include(invalid.message, option)
  assert.include(invalid.message, given)
  assert.include(invalid.message, "What to do")
}

describe("session options that are not what they should be", () => {
  it("stepTimeouts names a family by its name (its members share it), not a member", () => {
    assert.isUndefined(invalidOptions(Review, { stepTimeouts: { Reviewer: "1 second", Author: 500 } }, false))
    const member = invalidOptions(Review, { stepTimeouts: { "Reviewer[0]": "1 second" } }, false)
    assert.strictEqual(member?.option, "stepTimeouts.Reviewer[0]")
    assert.include(member?.message, "Author, Reviewer")
  })

  it.live("Session.start and run: InvalidSessionOptions naming the option, nothing started", () =>
    Effect.gen(function* () {
      const roles = {
        C: yield* ActorSystem.spawn(askClient, { name: "c" }),
        S: yield* ActorSystem.spawn(askServer, { name: "s" })
      }
      for (const [options, option, given] of bad) {
        check(yield* Effect.flip(Session.start(Ask, { roles, id: "one", ...(options as object) })), option, given)
        check(yield* Effect.flip(Session.run(Ask, { roles, id: "one", ...(options as object) })), option, given)
      }
      // nothing was left of them: the id is free, the only place among those joining is free (maxJoiningSessions 1)
      const done = yield* Session.run(Ask, {
        roles,
        id: "one",
        stepTimeout: "10 seconds",
        stepTimeouts: { S: "Infinity" }
      })
      assert.strictEqual(done.results.C, 2)
    }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer({ maxJoiningSessions: 1 })))
  )

  it.live("DurableSession.start and run: InvalidSessionOptions naming the option, nothing stored", () =>
    Effect.gen(function* () {
      const roles = {
        C: yield* ActorSystem.spawn(askClient, { name: "c" }),
        S: yield* ActorSystem.spawn(askServer, { name: "s" })
      }
      for (const [options, option, given] of durableBad) {
        const id = `bad-${option}-${given}`.replace(/[^\w.-]/g, "_")
        check(yield* Effect.flip(DurableSession.start(Ask, { roles, id, ...(options as object) })), option, given)
        check(yield* Effect.flip(DurableSession.run(Ask, { roles, id, ...(options as object) })), option, given)
        // nothing stored under the id
        assert.isTrue(Option.isNone(yield* DurableSession.outcome(id)))
      }
      const done = yield* DurableSession.run(Ask, {
        roles,
        id: "good",
        deadline: "10 seconds",
        stepTimeout: 5000,
        stepTimeouts: { C: "Infinity" }
      })
      assert.strictEqual(done.results.C, 2)
    }).pipe(
      Effect.scoped,
      Effect.provide(
        ActorSystem.layer({ maxJoiningSessions: 1 }).pipe(
          Layer.provideMerge(Storage.layerSqlite({ filename: join(dir, "durable.db") }))
        )
      )
    )
  )
})
