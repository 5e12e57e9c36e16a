/** Session fixtures: the protocols of the choreography tests, and an unchecked peer. */
import { Effect, Queue } from "effect"
import { TwoBuyer } from "../../../choreography/test/fixtures.ts"
import { Behavior, type Choreography, type Protocol, Session } from "../../src/index.ts"

/** Ask (C asks S a number, S answers it plus one) and its roles: the smallest session, shared with the root tests. */
export { Ask, askClient, askServer } from "../../../../test/support/session-ask.ts"
export { Credentials, network, Travel, TwoBuyer } from "../../../choreography/test/fixtures.ts"

type JoinOf<P extends Choreography.Protocol, R extends Choreography.RolesOf<P>> = Protocol.MessageOf<
  Session.Participant<P, R>["definition"],
  "Join"
>

/** What an unchecked peer saw: the session messages it received, and the aborts it was told. */
export interface UncheckedPeer<P extends Choreography.Protocol, R extends Choreography.RolesOf<P>> {
  readonly behavior: Behavior.Behavior<Session.Participant<P, R>, null>
  readonly received: Array<{ readonly from: string; readonly label: string; readonly payload: unknown }>
  readonly aborts: Array<Session.AbortCause>
}

/**
 * A participant that checks nothing: it joins like any participant, then `script` sends raw session
 * messages with `send` (numbered per peer from 1 unless `seq` is given), waits for the messages it receives
 * with `receive`, and may report its end with `done` (with what it sent). It answers an abort by leaving.
 * It stands for a hostile or buggy peer on another node.
 */
export const uncheckedPeer = <P extends Choreography.Protocol, const R extends Choreography.RolesOf<P>>(
  protocol: P,
  role: R,
  script: (
    send: (to: string, label: string, payload?: unknown, seq?: number) => Effect.Effect<void>,
    done: (result: unknown) => Effect.Effect<void>,
    receive: Effect.Effect<UncheckedPeer<P, R>["received"][number]>
  ) => Effect.Effect<void>
): UncheckedPeer<P, R> => {
  const received: UncheckedPeer<P, R>["received"] = []
  const inbox = Effect.runSync(Queue.unbounded<UncheckedPeer<P, R>["received"][number]>())
  const aborts: Array<Session.AbortCause> = []
  const numbers = new Map<string, number>()
  const trace: Array<{ _tag: "Sent"; from: string; to: string; label: string; payload: string }> = []
  let join: JoinOf<P, R> | undefined
  const send = (to: string, label: string, payload?: unknown, seq?: number) =>
    Effect.suspend(() => {
      const n = seq ?? (numbers.get(to) ?? 0) + 1
      numbers.set(to, n)
      trace.push({ _tag: "Sent", from: role, to, label, payload: JSON.stringify(payload) ?? "" })
      return join!.roles[to]!.tell({
        _tag: "Deliver",
        session: join!.session,
        seq: n,
        from: role,
        label,
        payload
      } as never)
    }).pipe(Effect.orDie)
  const done = (result: unknown) =>
    Effect.suspend(() =>
      join!.coordinator.tell({
        _tag: "Done",
        session: join!.session,
        role,
        result,
        trace,
        sent: Object.fromEntries(numbers)
      } as never)
    ).pipe(Effect.orDie)
  const behavior = Behavior.make(Session.protocolOf(protocol, role), {
    initial: null,
    receive: {
      Join: (state, message) =>
        Effect.sync(() => {
          join = message
          return { state, reply: false }
        }),
      Begin: (state, _, ctx) => Effect.as(ctx.fork(script(send, done, Queue.take(inbox))), state),
      Deliver: (state, { from, label, payload }) =>
        Effect.sync(() => {
          received.push({ from, label, payload })
          Queue.offerUnsafe(inbox, { from, label, payload })
          return state
        }),
      Abort: (state, { session, cause }) =>
        Effect.sync(() => aborts.push(cause)).pipe(
          Effect.andThen(join!.coordinator.tell({ _tag: "Left", session, role, trace: [] } as never)),
          Effect.orDie,
          Effect.as(state)
        ),
      CoordinatorDown: (state) => Effect.succeed(state),
      Crash: (state) => Effect.succeed(state),
      Resume: (state) => Effect.succeed(state)
    }
  })
  return { behavior, received, aborts }
}

/** Two-Buyer's A: asks for "Dune", offers B half the quote, and buys or cancels as B decides. */
export const buyerA = Session.role(TwoBuyer, "A", (ep) =>
  Effect.gen(function* () {
    const quote = yield* (yield* ep.send("S", "title", "Dune")).receive()
    const decision = yield* (yield* quote.next.send("B", "split", quote.payload / 2)).receive()
    if (decision.label === "accept") return yield* (yield* decision.next.send("S", "buy", "Dune")).close()
    return yield* (yield* decision.next.send("S", "cancel")).close()
  })
)

/** Two-Buyer's S: quotes 30 to A and B; its result is B's decision. */
export const seller = Session.role(TwoBuyer, "S", (ep) =>
  Effect.gen(function* () {
    const title = yield* ep.receive()
    const decision = yield* (yield* (yield* title.next.send("A", "quote", 30)).send("B", "quote", 30)).receive()
    yield* decision.next.close()
    return decision.label
  })
)
