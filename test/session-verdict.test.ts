/**
 * Sessions across three nodes over real WebSockets after a failure detector's verdict on a live peer (issue 9):
 * n2 (the bank) reaches n3 (the auditor) only through a TCP proxy. In the bank's 5th `once` effect the proxy blocks
 * (its connections drop, new ones are refused), so the bank's next message to the auditor is caught on the link;
 * n3's detector declares n2 down (n2's, slower, keeps its link); then the proxy lets connections through again and
 * the nodes link anew: what the old link carried is lost, with no restart and no Join. A durable session sends it
 * again and completes, each `once` effect run once; a session that is not durable aborts, typed; neither hangs.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, DurableSession, Session, Storage } from "@troupe/runtime"
import { FailureDetector, WebSocket } from "@troupe/transport"
import { Cause, Deferred, Effect, Exit, Layer, Option } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { completed, type Effect_, Ledger, spawnLedger } from "../packages/runtime/test/durable/ledger.ts"
import * as TcpProxy from "./support/tcp-proxy.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-session-verdict-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ROUNDS = 12

const node = (name: string, detectMillis: number, listen: boolean) =>
  ActorSystem.make({
    name,
    shutdownTimeout: "500 millis",
    transport: WebSocket.layer({
      node: name,
      secret: "a session verdict test secret",
      heartbeatInterval: "50 millis",
      failureDetector: FailureDetector.timeout(`${detectMillis} millis`),
      reconnect: { initialDelay: "20 millis", maxDelay: "100 millis" },
      // each node links only to those it dials or that dial it: n2 reaches n3 through the proxy alone
      connectAll: false,
      ...(listen ? { listen: { port: 0 } } : {})
    })
  })

const until = (condition: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    while (!(yield* condition)) yield* Effect.sleep("5 millis")
  })

/** Runs the ledger across the nodes (durable or not) through the verdict; answers its end and the effects run. */
const verdict = (durable: boolean) => {
  const effects: Array<string> = []
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const n1 = yield* node("n1", 30_000, true)
        const n3 = yield* node("n3", 500, true)
        // n2 only dials: it reaches n3 through the proxy alone
        const n2 = yield* node("n2", 30_000, false)
        const port = Number(new URL(Option.getOrThrow(n3.address)).port)
        const proxy = yield* TcpProxy.make(port)
        yield* n1.connect(Option.getOrThrow(n3.address))
        yield* n2.connect(Option.getOrThrow(n1.address))
        yield* n2.connect(proxy.url)
        for (const n of [n1, n2, n3]) yield* until(Effect.map(n.nodes, (ns) => ns.length === 2))
        const cut = yield* Deferred.make<void>()
        const record: Effect_ = (session, role, n) =>
          Effect.andThen(
            role === "B" && n === 5 && !effects.includes("s/B/5")
              ? Effect.andThen(
                  Effect.sync(() => proxy.block()),
                  Deferred.succeed(cut, undefined)
                )
              : Effect.void,
            Effect.sync(() => effects.push(`${session}/${role}/${n}`))
          )
        const { roles } = yield* spawnLedger({ C: n1, B: n2, A: n3 }, { bank: record, auditor: record }, ROUNDS)
        const onN1 = Effect.provideService(ActorSystem.ActorSystem, n1)
        const handle = durable
          ? yield* onN1(DurableSession.start(Ledger, { roles, id: "s", deadline: "20 seconds" }))
          : yield* onN1(Session.start(Ledger, { roles, id: "s" }))
        yield* Deferred.await(cut)
        yield* until(Effect.map(n3.nodes, (ns) => !ns.includes("n2")))
        expect(yield* n2.nodes).toContain("n3")
        proxy.unblock()
        const exit = yield* Effect.exit(handle.await.pipe(Effect.timeout("10 seconds")))
        return { exit, effects }
      })
    ).pipe(Effect.provide(Layer.fresh(Storage.layerSqlite({ filename: join(dir, `${durable}.sqlite`) }))))
  )
}

describe("a session across WebSocket nodes after a failure detector's verdict on a live peer", () => {
  it("durable: the nodes link anew; what the old link carried is sent again, each message handled once", async () => {
    const { exit, effects } = await verdict(true)
    expect(Exit.isSuccess(exit) ? exit.value.results : Cause.pretty(exit.cause)).toEqual(completed(ROUNDS))
    expect(effects.length).toBe(2 * ROUNDS)
    expect(new Set(effects).size).toBe(2 * ROUNDS)
  }, 30_000)

  it("not durable: the session aborts, typed (a peer's node went down), and does not hang", async () => {
    const { exit } = await verdict(false)
    const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : exit
    expect(error).toMatchObject({
      _tag: "SessionAborted",
      cause: { _tag: "ParticipantStopped", role: "B", reason: "node-down" }
    })
  }, 30_000)
})
