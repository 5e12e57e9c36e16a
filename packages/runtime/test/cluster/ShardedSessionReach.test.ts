/**
 * Sessions with sharded roles on one SQLite runner whose bank stalls: its actor is stuck in a handler (as a stalled
 * event loop or a runner being taken over leaves it) while the client waits for its receipt. The coordinator's lease
 * join to the bank goes unanswered, so the bank is unreachable: the client's step deadline does not count meanwhile
 * (the session completes when the stall outlasts the step deadline), and a bank that never answers again ends the
 * session with `SessionNodeLost` at the session's deadline, not with the client's `StepTimeout`.
 */
import { type Endpoint, Session, Sharded, ShardedSession } from "@troupe/runtime"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { bank, client, Ledger } from "../durable/ledger.ts"
import { runSqlite } from "./ledgerRunner.ts"

/** How long the bank of each session stalls (forever when absent), and the sessions whose bank is stalling now. */
const stallMillis = new Map<string, number>([["stall-4", 4_000]])
const stalling = new Set<string>()

/**
 * Banks whose actor stalls once their session's client asks for it (see `Clients`): the next Join it gets (the
 * coordinator's lease) holds its handler, and every message behind it, for the session's stall.
 */
const stallRequested = new Set<string>()
const Banks = Sharded.make("ReachBank", {
  behavior: () => {
    const behavior = bank(() => Effect.void)
    const handlers = behavior.receive as unknown as Record<string, (...args: ReadonlyArray<unknown>) => unknown>
    return {
      ...behavior,
      receive: {
        ...handlers,
        Join: (state: unknown, m: { readonly session: string }, ctx: unknown) => {
          if (!stallRequested.delete(m.session)) return handlers.Join!(state, m, ctx)
          stalling.add(m.session)
          const millis = stallMillis.get(m.session)
          const stall = millis === undefined ? Effect.never : Effect.sleep(`${millis} millis`)
          return Effect.andThen(
            stall,
            Effect.suspend(() => handlers.Join!(state, m, ctx) as Effect.Effect<unknown>)
          )
        }
      } as unknown as typeof behavior.receive
    }
  }
})

/** Clients that ask for their bank's stall before their third deposit, and make it once the bank is stalling. */
const Clients = Sharded.make("ReachClient", {
  behavior: () =>
    client(() => 4, {
      deposit: 3,
      wait: (ctx) =>
        Effect.gen(function* () {
          stallRequested.add(ctx.session)
          while (!stalling.has(ctx.session)) yield* Effect.sleep("10 millis")
        })
    })
})

const Auditors = Sharded.make("ReachAuditor", {
  behavior: () =>
    Session.role(Ledger, "A", (typed) =>
      Effect.gen(function* () {
        let ep = typed as unknown as Endpoint.UntypedEndpoint<Session.Failure>
        let n = 0
        for (;;) {
          const message = yield* ep.receive()
          if (message.label === "close") return n
          n++
          ep = yield* message.next.send("B", "ok", message.payload as number)
        }
      })
    )
})

describe("sessions with sharded roles whose bank stalls (one SQLite runner)", () => {
  it("do not count a step while the coordinator cannot reach a role: a stall longer than the step completes; one that never ends fails with SessionNodeLost", async () => {
    const session = (id: string) =>
      Effect.gen(function* () {
        const roles = {
          C: yield* Sharded.ref(Clients, `c-${id}`),
          B: yield* Sharded.ref(Banks, `b-${id}`),
          A: yield* Sharded.ref(Auditors, `a-${id}`)
        }
        // a 6 s deadline: the lease asks every 600 ms; the client's step deadline is 3 s, the stall 4 s
        return yield* Effect.exit(
          ShardedSession.run(Ledger, { roles, id, deadline: "6 seconds", stepTimeout: "3 seconds" })
        )
      })
    const [stalled, gone] = await runSqlite([Clients, Banks, Auditors])(
      Effect.all([session("stall-4"), session("gone-4")], { concurrency: "unbounded" })
    )
    expect(stalled._tag === "Success" && stalled.value.results).toEqual({ C: 10, B: 10, A: 4 })
    const error = Exit.isFailure(gone) ? Exit.findErrorOption(gone) : undefined
    expect(error?._tag === "Some" && (error.value as { cause?: unknown }).cause).toMatchObject({
      _tag: "SessionNodeLost",
      role: "B"
    })
  }, 30_000)
})
