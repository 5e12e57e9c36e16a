/**
 * A role of a session with sharded roles may get a peer's message ahead of the next one it expects from that peer:
 * it resumed from the durable log (its actor moved in a rolling restart) before the peer's runner had written the
 * messages between to the log (sends are written behind), and the peer's next message came before the coordinator
 * had it send those again. That is not a protocol violation: the message waits for the ones between. It used to
 * abort the session with `ProtocolViolation` "message 4 from B, expected 3" (seen once in the multi-runner test).
 */
import { type ActorRef, ActorSystem, ShardedSession } from "@troupe/runtime"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { participantsOf } from "../../src/choreography/internal/participant.ts"
import type { ParticipantProtocol } from "../../src/choreography/internal/sessionProtocols.ts"
import { completed, Ledger } from "../durable/ledger.ts"
import { Auditors, Banks, gatedClients, ledgerRoles, ranOnce, runSqlite } from "./ledgerRunner.ts"

/** Clients that wait before their second deposit until the test releases them. */
const gated = gatedClients("LedgerOrderClient")
const Waiters = gated.type

const run = runSqlite([Waiters, Banks, Auditors])

describe("a session with sharded roles whose role gets a peer's message ahead of the next one", () => {
  it("complete: the message waits for the ones between, and each is taken once, in order", async () => {
    const id = "order-3"
    const done = await run(
      Effect.gen(function* () {
        const roles = yield* ledgerRoles(id, Waiters)
        const handle = yield* ShardedSession.start(Ledger, { roles, id, deadline: "10 seconds" })
        // the auditor took the bank's first record (the client waits before its second deposit)
        const participants = participantsOf(ActorSystem.internal(yield* ActorSystem.ActorSystem))
        const auditor = () =>
          [...participants.values()].map((p) => p.sessions.get(id)).find((s) => s?.role === "A" && s.begun)
        while ((auditor()?.peer("B")?.received ?? 0) < 1) yield* Effect.sleep("10 millis")
        // the bank's third record reaches the auditor before its second (the one it sends once the client deposits 2)
        const third = { _tag: "Deliver", session: id, seq: 3, from: "B", label: "record", payload: 3 } as const
        yield* (roles.A as unknown as ActorRef<ParticipantProtocol>).tell(third)
        gated.release()
        return yield* handle.await
      })
    )
    // before: SessionAborted, ProtocolViolation "message 3 from B, expected 2"
    expect(done.results).toEqual(completed(3))
    expect(ranOnce(id)).toEqual({ runs: 6, distinct: 6 })
  }, 30_000)
})
