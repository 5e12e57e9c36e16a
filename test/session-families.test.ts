/**
 * Sessions of a protocol with a role family (issue 12, finding 5), over every topology of the conformance
 * runs (one actor system; two nodes over the in-process and the WebSocket transports, members spread over
 * both): n reviewers bound as a list, each member its own participant with its own monitor; the author's
 * typed endpoint sends to all and gathers from each. Under faults: a member whose actor stops mid-session
 * aborts the session for everyone, naming the member; a member that never answers makes the author's step
 * deadline expire, naming the member it waited for. Nothing hangs.
 */
import { ActorSystem, Session } from "@troupe/runtime"
import { Deferred, Effect, Exit, type Scope } from "effect"
import { describe, expect, it } from "vitest"
import { Review } from "../packages/choreography/test/fixtures.ts"
import { type Places, topologies } from "./conformance/support/topology.ts"

/** The author: drafts until every reviewer approves; answers the number of rounds. */
const author = Session.role(Review, "Author", (ep) =>
  Effect.gen(function* () {
    let round = ep
    for (let n = 1; ; n++) {
      const verdicts = yield* (yield* round.send("Reviewer", "draft", `draft ${n}`)).receive()
      if (verdicts.payload.every((v) => v.approve)) {
        yield* (yield* verdicts.next.send("Reviewer", "accepted")).close()
        return n
      }
      round = yield* verdicts.next.send("Reviewer", "revise")
    }
  })
)

/** A reviewer that approves from round `approveFrom` on; answers its member index. */
const reviewer = (approveFrom: number, onDraft: Effect.Effect<void> = Effect.void) =>
  Session.role(Review, "Reviewer", (ep, session) =>
    Effect.gen(function* () {
      let round = ep
      for (let n = 1; ; n++) {
        const draft = yield* round.receive()
        yield* onDraft
        const answered = yield* draft.next.send("Author", "verdict", {
          approve: n >= approveFrom,
          reason: draft.payload
        })
        const outcome = yield* answered.receive()
        if (outcome.label === "accepted") {
          yield* outcome.next.close()
          return `${session.member?.index}/${session.member?.size}`
        }
        round = outcome.next
      }
    })
  )

const over = <A, E>(
  places: Effect.Effect<Places, never, Scope.Scope>,
  body: (places: Places) => Effect.Effect<A, E, ActorSystem.ActorSystem>
) =>
  Effect.runPromiseExit(
    Effect.scoped(Effect.flatMap(places, (p) => body(p).pipe(Effect.provideService(ActorSystem.ActorSystem, p.home))))
  )

const failureOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined

for (const topology of topologies) {
  describe(`sessions with a role family over ${topology.name}`, () => {
    it("three reviewers, bound as a list: every member gets every message, the author gathers theirs", async () => {
      const exit = await over(topology.places, (places) =>
        Effect.gen(function* () {
          const Author = yield* places.spawn("Author", author)
          const reviewers = [
            yield* places.spawn("Reviewer0", reviewer(1)),
            yield* places.spawn("Reviewer1", reviewer(2)),
            yield* places.spawn("Reviewer2", reviewer(1))
          ]
          return yield* Session.run(Review, { roles: { Author, Reviewer: reviewers }, stepTimeout: "10 seconds" })
        })
      )
      if (Exit.isFailure(exit)) throw new Error(`the run failed: ${String(exit.cause)}`)
      const done = exit.value
      expect(done.results.Author).toBe(2)
      expect(done.results.Reviewer).toEqual(["0/3", "1/3", "2/3"])
      const sent = done.trace.filter((e) => e._tag === "Sent").map((e) => `${e.from}>${e.to}:${e.label}`)
      const received = done.trace.filter((e) => e._tag === "Received").map((e) => `${e.from}>${e.to}:${e.label}`)
      expect(received.sort()).toEqual([...sent].sort())
      expect(sent.filter((m) => m.endsWith(":draft"))).toEqual([
        "Author>Reviewer[0]:draft",
        "Author>Reviewer[1]:draft",
        "Author>Reviewer[2]:draft",
        "Author>Reviewer[0]:draft",
        "Author>Reviewer[1]:draft",
        "Author>Reviewer[2]:draft"
      ])
    })

    it("a member whose actor stops mid-session aborts the session for everyone, naming the member", async () => {
      const exit = await over(topology.places, (places) =>
        Effect.gen(function* () {
          const stop = yield* Deferred.make<void>()
          const Author = yield* places.spawn("Author", author)
          const quitter = Session.role(Review, "Reviewer", (ep, session) =>
            Effect.gen(function* () {
              yield* ep.receive()
              // The actor stops itself while the author waits for its verdict.
              yield* session.actor.stopSelf
              yield* Deferred.await(stop)
            })
          )
          const reviewers = [
            yield* places.spawn("Reviewer0", reviewer(1)),
            yield* places.spawn("Reviewer1", quitter),
            yield* places.spawn("Reviewer2", reviewer(1))
          ]
          return yield* Session.run(Review, { roles: { Author, Reviewer: reviewers }, stepTimeout: "20 seconds" })
        })
      )
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(Session.SessionAborted)
      expect((error as Session.SessionAborted).cause).toMatchObject({
        _tag: "ParticipantStopped",
        role: "Reviewer[1]"
      })
    })

    it("a member that never answers makes the author's step deadline expire, naming the member it waits for", async () => {
      const exit = await over(topology.places, (places) =>
        Effect.gen(function* () {
          const Author = yield* places.spawn("Author", author)
          const reviewers = [
            yield* places.spawn("Reviewer0", reviewer(1)),
            yield* places.spawn("Reviewer1", reviewer(1, Effect.never)),
            yield* places.spawn("Reviewer2", reviewer(1))
          ]
          return yield* Session.run(Review, {
            roles: { Author, Reviewer: reviewers },
            stepTimeouts: { Author: "300 millis" }
          })
        })
      )
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(Session.SessionAborted)
      expect((error as Session.SessionAborted).cause).toMatchObject({
        _tag: "StepTimeout",
        role: "Author",
        expected: ["Reviewer[1]?verdict({ approve: boolean, reason: string })"]
      })
    })
  })
}
