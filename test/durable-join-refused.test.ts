/**
 * A durable session whose role answers its Join that it cannot join ends at once with that answer: a participant
 * spawned on a node with no Storage answers `ParticipantFailed`. Before, the coordinator asked it again every
 * 200 ms until the session's deadline and then ended it with `SessionNodeLost`, naming a node that was alive.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Choreography, DurableSession, Session, Storage } from "@troupe/runtime"
import { WebSocket } from "@troupe/transport"
import { Effect, Exit, Layer, Option, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"

const dir = mkdtempSync(join(tmpdir(), "troupe-durable-join-refused-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const Pair = Choreography.makeUnsafe("Pair", ["Author", "Reviewer"], ($) => [
  $.message("Author", "Reviewer", "draft", Schema.String)
])
const author = Session.role(Pair, "Author", (ep) =>
  Effect.flatMap(ep.send("Reviewer", "draft", "d"), (end) => end.close())
)
const reviewer = Session.role(Pair, "Reviewer", (ep) => Effect.flatMap(ep.receive(), (draft) => draft.next.close()))

const node = (name: string, listen: boolean) =>
  ActorSystem.make({
    name,
    transport: WebSocket.layer({
      node: name,
      secret: "a durable join refused test secret",
      ...(listen ? { listen: { port: 0 } } : {})
    })
  })

describe("a durable session whose role cannot join", () => {
  it("ends at once with the role's ParticipantFailed (a participant on a node with no Storage), not SessionNodeLost at its deadline", async () => {
    const { exit, millis } = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          // the reviewer's node has no Storage
          const plain = yield* node("plain", true)
          yield* plain.spawn(reviewer, { name: "r" })
          return yield* Effect.gen(function* () {
            const stored = yield* node("stored", false)
            yield* stored.connect(Option.getOrThrow(plain.address))
            yield* stored.spawn(author, { name: "a" })
            const roles = {
              Author: yield* stored.lookup("/user/a", Session.protocolOf(Pair, "Author")),
              Reviewer: yield* stored.lookup("/user/r", Session.protocolOf(Pair, "Reviewer"), { node: plain.node })
            }
            const started = Date.now()
            const exit = yield* Effect.exit(
              DurableSession.run(Pair, { roles, id: "refused", deadline: "30 seconds" }).pipe(
                Effect.provideService(ActorSystem.ActorSystem, stored)
              )
            )
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
