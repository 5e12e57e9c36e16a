/**
 * The choreography the durable-session tests run: a client (C) makes `rounds` deposits at a bank (B), which
 * records each with an auditor (A) before it gives the client a receipt; then the client closes. B and A
 * each run a `once` effect per deposit (`effect` is told which), and every program's result is what it saw.
 */
import { type ActorSystem, Choreography, type Endpoint, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"

export const Ledger = Choreography.makeUnsafe("Ledger", ["C", "B", "A"], ($) => [
  $.loop("Round", [
    $.choice("C", {
      deposit: [
        $.message("C", "B", "deposit", Schema.Number),
        $.message("B", "A", "record", Schema.Number),
        $.message("A", "B", "ok", Schema.Number),
        $.message("B", "C", "receipt", Schema.Number),
        $.continue("Round")
      ],
      close: [$.message("C", "B", "close", Schema.Void), $.message("B", "A", "close", Schema.Void)]
    })
  ])
])

type Untyped = Endpoint.UntypedEndpoint<Session.Failure>

/** What a `once` effect of the ledger does: `role` handled the `n`-th deposit of `session`. */
export type Effect_ = (session: string, role: string, n: number) => Effect.Effect<void>

/**
 * The client: `rounds(session)` deposits of 1..n; its result is the last receipt (the total). With `before`, it waits
 * for `before.wait` before its deposit number `before.deposit` (a test's client waits there for what it needs).
 */
export const client = <R = never>(
  rounds: (session: string) => number,
  before?: { readonly deposit: number; readonly wait: (ctx: Session.Context) => Effect.Effect<void, never, R> }
) =>
  Session.role(Ledger, "C", (typed, ctx) =>
    Effect.gen(function* () {
      let ep = typed as unknown as Untyped
      let total = 0
      for (let i = 1; i <= rounds(ctx.session); i++) {
        if (i === before?.deposit) yield* before.wait(ctx)
        const receipt = yield* (yield* ep.send("B", "deposit", i)).receive()
        total = receipt.payload as number
        ep = receipt.next
      }
      yield* ep.send("B", "close")
      return total
    })
  )

/** The bank: adds each deposit once (a `once` effect), has it recorded, and answers the total. */
export const bank = (effect: Effect_) =>
  Session.role(Ledger, "B", (typed, ctx) =>
    Effect.gen(function* () {
      let ep = typed as unknown as Untyped
      let total = 0
      let n = 0
      for (;;) {
        const message = yield* ep.receive()
        if (message.label === "close") {
          yield* message.next.send("A", "close")
          return total
        }
        const amount = message.payload as number
        n++
        yield* ctx.once(effect(ctx.session, "B", n))
        const ok = yield* (yield* message.next.send("A", "record", amount)).receive()
        total += ok.payload as number
        ep = yield* ok.next.send("C", "receipt", total)
      }
    })
  )

/** The auditor: records each deposit once (a `once` effect) and confirms it; its result is how many. */
export const auditor = (effect: Effect_) =>
  Session.role(Ledger, "A", (typed, ctx) =>
    Effect.gen(function* () {
      let ep = typed as unknown as Untyped
      let n = 0
      for (;;) {
        const message = yield* ep.receive()
        if (message.label === "close") return n
        n++
        yield* ctx.once(effect(ctx.session, "A", n))
        ep = yield* message.next.send("B", "ok", message.payload as number)
      }
    })
  )

/**
 * Spawns the ledger's roles, named for them: the client (`rounds` deposits) on `on.C`, the bank on `on.B` and the
 * auditor on `on.A`, with their `once` effects. Answers the bank's actor and the roles as `on.C` sees them (for a
 * session started there).
 */
export const spawnLedger = (
  on: {
    readonly C: ActorSystem.ActorSystemService
    readonly B: ActorSystem.ActorSystemService
    readonly A: ActorSystem.ActorSystemService
  },
  effects: { readonly bank: Effect_; readonly auditor: Effect_ },
  rounds: number
) =>
  Effect.gen(function* () {
    yield* on.C.spawn(
      client(() => rounds),
      { name: "C" }
    )
    const bankRef = yield* on.B.spawn(bank(effects.bank), { name: "B" })
    yield* on.A.spawn(auditor(effects.auditor), { name: "A" })
    const roles = {
      C: yield* on.C.lookup("/user/C", Session.protocolOf(Ledger, "C")),
      B: yield* on.C.lookup("/user/B", Session.protocolOf(Ledger, "B"), { node: on.B.node }),
      A: yield* on.C.lookup("/user/A", Session.protocolOf(Ledger, "A"), { node: on.A.node })
    }
    return { bank: bankRef, roles }
  })

/**
 * What each role of a completed ledger session of `rounds` deposits answers (the client and the bank the sum of the
 * deposits 1..rounds, the auditor how many it recorded).
 */
export const completed = (rounds: number) => ({
  C: (rounds * (rounds + 1)) / 2,
  B: (rounds * (rounds + 1)) / 2,
  A: rounds
})
