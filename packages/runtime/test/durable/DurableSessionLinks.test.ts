/**
 * A durable session across three nodes whose links break (in-process network): a role joined again after its
 * actor came back must be reached by its peers even when a peer's node has, at that moment, no link to the
 * role's node (its failure detector declared it down). The coordinator's Join that tells the peer where the
 * role is now does not decode there ("node n2 is not connected"); the coordinator asks again once the link is
 * back, and the session completes, every `once` effect run once. A link that never comes back ends the
 * session at its deadline, typed.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, DurableSession, Session, Storage } from "@troupe/runtime"
import { FailureDetector, InProcess } from "@troupe/transport"
import { Cause, Deferred, type Duration, Effect, Exit, Layer, Option } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { internal } from "../../src/ActorSystem.ts"
import { bank, completed, type Effect_, Ledger, spawnLedger } from "./ledger.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-session-links-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ROUNDS = 12

/**
 * Nodes n1 (the coordinator and C), n2 (B) and n3 (A), linked to each other. Only n3 declares a silent peer
 * down quickly: when n2 and n3 are cut apart, n3 drops n2 while n2 still holds its link to n3.
 */
const nodes = (network: InProcess.Network) =>
  Effect.gen(function* () {
    const node = (name: string, detectMillis: number) =>
      ActorSystem.make({
        name,
        shutdownTimeout: "500 millis",
        transport: InProcess.layer(network, {
          node: name,
          secret: "a durable links test secret",
          heartbeatInterval: "50 millis",
          failureDetector: FailureDetector.timeout(`${detectMillis} millis`),
          reconnect: { initialDelay: "20 millis", maxDelay: "100 millis" }
        })
      })
    const n1 = yield* node("n1", 30_000)
    const n2 = yield* node("n2", 30_000)
    const n3 = yield* node("n3", 300)
    yield* n1.connect("n2")
    yield* n1.connect("n3")
    yield* n2.connect("n3")
    for (const n of [n1, n2, n3]) while ((yield* n.nodes).length < 2) yield* Effect.sleep("5 millis")
    return { n1, n2, n3 }
  })

const until = (condition: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    while (!(yield* condition)) yield* Effect.sleep("5 millis")
  })

/**
 * Runs a ledger session across the nodes; the bank's actor is stopped mid-way, n2 and n3 are cut apart, the
 * bank is spawned again (the coordinator joins it again and tells A where it is now, which n3 cannot decode),
 * and then, if `heal`, the cut is healed. Answers the session's end (within 10 s) and its stored outcome.
 */
const scenario = (filename: string, record: Effect_, heal: boolean, deadline: Duration.Input) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const network = InProcess.makeNetwork()
        const { n1, n2, n3 } = yield* nodes(network)
        // the first bank stops in its 5th deposit's once effect (before it runs): its actor is then stopped
        const stuck = yield* Deferred.make<void>()
        const firstBank: Effect_ = (session, role, n) =>
          n === 5 ? Effect.andThen(Deferred.succeed(stuck, undefined), Effect.never) : record(session, role, n)
        const { bank: b, roles } = yield* spawnLedger(
          { C: n1, B: n2, A: n3 },
          { bank: firstBank, auditor: record },
          ROUNDS
        )
        const onN1 = Effect.provideService(ActorSystem.ActorSystem, n1)
        const handle = yield* onN1(DurableSession.start(Ledger, { roles, id: "s", deadline }))
        yield* Deferred.await(stuck)
        yield* n2.stop(b)
        // n2 and n3 are cut apart: n3 declares n2 down; n2 keeps its link to n3 (it has not noticed yet)
        yield* network.partition(["n2"], ["n3"])
        yield* until(Effect.map(n3.nodes, (ns) => !ns.includes("n2")))
        expect(yield* n2.nodes).toContain("n3")
        // the bank is back: the coordinator joins it again (n2 decodes its Join), and tells A where it is now,
        // which A's node cannot decode (it has no link to n2)
        const invalid = () => internal(n3).remoting?.invalidMessages ?? 0
        yield* n2.spawn(bank(record), { name: "B" })
        yield* until(Effect.sync(() => invalid() > 0))
        if (heal) yield* network.heal
        const exit = yield* Effect.exit(handle.await.pipe(Effect.timeout("10 seconds")))
        return { exit, stored: yield* onN1(DurableSession.outcome("s")) }
      })
    ).pipe(Effect.provide(Layer.fresh(Storage.layerSqlite({ filename }))))
  )

describe("a durable session across nodes whose links break", () => {
  it("reaches a role joined again while a peer's node had no link to it, once the link is back", async () => {
    const effects: Array<string> = []
    const record: Effect_ = (session, role, n) => Effect.sync(() => effects.push(`${session}/${role}/${n}`))
    const { exit } = await scenario(join(dir, "healed.sqlite"), record, true, "20 seconds")
    expect(Exit.isSuccess(exit) ? exit.value.results : Cause.pretty(exit.cause)).toEqual(completed(ROUNDS))
    const counts = new Map<string, number>()
    for (const e of effects) counts.set(e, (counts.get(e) ?? 0) + 1)
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([])
    expect(counts.size).toBe(2 * ROUNDS)
  }, 30_000)

  it("fails typed at the session's deadline when the link does not come back, naming both nodes", async () => {
    const record: Effect_ = () => Effect.void
    const started = Date.now()
    const { exit, stored } = await scenario(join(dir, "apart.sqlite"), record, false, "1500 millis")
    const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : exit.value
    const apart = { _tag: "SessionNodesApart", role: "A", node: "n3", peerRole: "B", peerNode: "n2" }
    expect(error, String(error)).toMatchObject({ _tag: "SessionAborted", cause: apart })
    expect(Option.getOrUndefined(stored)).toMatchObject({ _tag: "Aborted", cause: apart })
    expect(Date.now() - started).toBeLessThan(10_000)
  }, 30_000)
})

/**
 * Runs a ledger session across the nodes, durable or not: in B's 5th `once` effect n2 and n3 are cut apart (B's
 * next message, to A, is caught in the cut), n3's failure detector declares n2 down (both nodes live: the verdict
 * ends the link, and what it carried is lost), and then, if `heal`, the cut is healed: the nodes link anew, with
 * no restart and no Join. Answers the session's end (within 10 s) and the `once` effects run.
 */
const verdict = (options: {
  readonly filename: string
  readonly durable: boolean
  readonly heal: boolean
  readonly deadline?: Duration.Input
}) => {
  const effects: Array<string> = []
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const network = InProcess.makeNetwork()
        const { n1, n2, n3 } = yield* nodes(network)
        const cut = yield* Deferred.make<void>()
        const record: Effect_ = (session, role, n) =>
          Effect.andThen(
            role === "B" && n === 5 && !effects.includes("s/B/5")
              ? Effect.andThen(network.partition(["n2"], ["n3"]), Deferred.succeed(cut, undefined))
              : Effect.void,
            Effect.sync(() => effects.push(`${session}/${role}/${n}`))
          )
        const { roles } = yield* spawnLedger({ C: n1, B: n2, A: n3 }, { bank: record, auditor: record }, ROUNDS)
        const onN1 = Effect.provideService(ActorSystem.ActorSystem, n1)
        const deadline = options.deadline ?? "20 seconds"
        const handle = options.durable
          ? yield* onN1(DurableSession.start(Ledger, { roles, id: "s", deadline }))
          : yield* onN1(Session.start(Ledger, { roles, id: "s" }))
        yield* Deferred.await(cut)
        yield* until(Effect.map(n3.nodes, (ns) => !ns.includes("n2")))
        if (options.heal) yield* network.heal
        const exit = yield* Effect.exit(handle.await.pipe(Effect.timeout("10 seconds")))
        return { exit, effects }
      })
    ).pipe(Effect.provide(Layer.fresh(Storage.layerSqlite({ filename: options.filename }))))
  )
}

const abortCause = (exit: Exit.Exit<unknown, unknown>): unknown => {
  const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : exit
  return (error as { readonly _tag?: string })._tag === "SessionAborted"
    ? (error as Session.SessionAborted).cause
    : error
}

describe("a session across nodes after a failure detector's verdict on a live peer", () => {
  it("durable: the link comes back (no restart, no Join); what it carried is sent again, each message handled once", async () => {
    const { exit, effects } = await verdict({ filename: join(dir, "verdict.sqlite"), durable: true, heal: true })
    expect(Exit.isSuccess(exit) ? exit.value.results : Cause.pretty(exit.cause)).toEqual(completed(ROUNDS))
    expect(effects.length).toBe(2 * ROUNDS)
    expect(new Set(effects).size).toBe(2 * ROUNDS)
  }, 30_000)

  it("durable: the link does not come back: the session aborts at its deadline, naming both nodes", async () => {
    const started = Date.now()
    const { exit } = await verdict({
      filename: join(dir, "verdict-apart.sqlite"),
      durable: true,
      heal: false,
      deadline: "1500 millis"
    })
    const apart = { _tag: "SessionNodesApart", role: "A", node: "n3", peerRole: "B", peerNode: "n2" }
    expect(abortCause(exit)).toMatchObject(apart)
    expect(Date.now() - started).toBeLessThan(10_000)
  }, 30_000)

  it("not durable: the session aborts, typed (a peer's node went down), and does not hang", async () => {
    const { exit } = await verdict({ filename: join(dir, "verdict-plain.sqlite"), durable: false, heal: true })
    expect(abortCause(exit)).toMatchObject({ _tag: "ParticipantStopped", role: "B", reason: "node-down" })
  }, 30_000)
})
