/**
 * A session with sharded roles completes only with every role's result. Its coordinator is a sharded actor: an
 * incarnation that aborts the session tells the roles, and the roles answer that they left; when its runner stops
 * before it stored the end (a rolling restart; or the end's write failed, "Storage unreachable"), the next
 * incarnation starts from the stored session, which still runs, and the roles' answers (`Left`) reach it. It used to
 * count each such role as ended, without a result, and complete the session with the results it had (seen in the
 * multi-runner test: a session of the rolling-restart batch completed with `{ C: 465 }`, B's and A's missing). Now
 * such a role is joined again (the lease) and resumes from the log, and the session completes with every result.
 */
import { type ActorRef, ActorSystem, ShardedSession } from "@troupe/runtime"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { participantsOf } from "../../src/choreography/internal/participant.ts"
import type { RoleSession } from "../../src/choreography/internal/roleSession.ts"
import { SessionCancelled } from "../../src/choreography/internal/sessionErrors.ts"
import type { ParticipantProtocol } from "../../src/choreography/internal/sessionProtocols.ts"
import { completed, Ledger } from "../durable/ledger.ts"
import { Auditors, Banks, gatedClients, ledgerRoles, ranOnce, runSqlite } from "./ledgerRunner.ts"

/** Clients that wait before their second deposit until the test releases them. */
const gated = gatedClients("LedgerStaleAbortClient")
const Waiters = gated.type

const run = runSqlite([Waiters, Banks, Auditors])

describe("a session with sharded roles whose coordinator started again after an abort it did not store", () => {
  it("complete with every role's result: the roles' answers to the earlier abort end none of them", async () => {
    const id = "stale-3"
    const done = await run(
      Effect.gen(function* () {
        const roles = yield* ledgerRoles(id, Waiters)
        const handle = yield* ShardedSession.start(Ledger, { roles, id, deadline: "10 seconds" })
        // every role holds the session, which began (the client waits before its second deposit)
        const participants = participantsOf(ActorSystem.internal(yield* ActorSystem.ActorSystem))
        const held = () =>
          [...participants.values()].flatMap((p): Array<RoleSession> => {
            const session = p.sessions.get(id)
            return session?.begun === true ? [session] : []
          })
        while (held().length < 3) yield* Effect.sleep("10 millis")
        const sessions = held()
        // the abort of an earlier incarnation of the coordinator (whose end was not stored) reaches the roles now:
        // each leaves the session and answers the coordinator (the one that runs the session now) that it left
        const coordinator = sessions[0]!.coordinator
        const cause = new SessionCancelled({ protocol: Ledger.name, session: id, reason: "an earlier incarnation" })
        for (const [role, ref] of Object.entries(roles))
          yield* (ref as unknown as ActorRef<ParticipantProtocol>).tell({
            _tag: "Abort",
            session: id,
            cause,
            role,
            coordinator
          })
        while (!sessions.every((s) => s.ended)) yield* Effect.sleep("10 millis")
        gated.release()
        return yield* handle.await
      })
    )
    // before: `{}` (each role's `Left` counted as its end, and the session completed with no result at all)
    expect(done.results).toEqual(completed(3))
    // the roles resumed from the log: no `once` effect ran twice
    expect(ranOnce(id)).toEqual({ runs: 6, distinct: 6 })
  }, 30_000)
})
