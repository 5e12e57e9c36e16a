/**
 * Why a node was declared down reaches the watchers of its actors (red team, session 14): `Terminated.NodeDown`
 * carries the transport's reason and words, and a session that loses a role with its node says what happened to
 * that node, never "went down" for a node that did not (the README star with its coordinator's node SIGSTOPped
 * 15 s said "its node went down: node shop" of a shop that was alive: see node-kill-restart.test.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Session, Terminated } from "@troupe/runtime"
import { Deferred, Effect, Fiber } from "effect"
import { Account, account } from "./support/account.ts"
import { pair, Upload } from "./support/remote-work.ts"
import { inProcess } from "./support/topology.ts"

describe("the reason a node was declared down", () => {
  it.live("reaches the watchers of its actors, in words that say what happened to it", () =>
    Effect.gen(function* () {
      const { alice, bob } = pair(yield* inProcess.start(["alice", "bob"]))
      yield* alice.system.spawn(account(), { name: "acct" })
      const remote = yield* bob.system.lookup("/user/acct", Account, { node: "alice" })
      const ended = yield* Effect.forkChild(bob.system.awaitTermination(remote))
      yield* Effect.sleep("20 millis")
      yield* alice.crash
      const { reason } = yield* Fiber.join(ended)
      assert.instanceOf(reason, Terminated.NodeDown)
      const down = reason as Terminated.NodeDown
      assert.strictEqual(down.node, "alice")
      assert.isDefined(down.reason, "the transport's reason")
      const words = Terminated.describeNodeDown(down, "bob")
      assert.match(words, /^node alice (was not heard from|shut down|restarted|is alive but ended its link)/)
      assert.notInclude(words, "went down")
    })
  )

  it.live("a session that loses a role with its node says what happened to that node", () =>
    Effect.gen(function* () {
      const { alice, bob } = pair(yield* inProcess.start(["alice", "bob"]))
      const received = yield* Deferred.make<void>()
      const client = yield* alice.system.spawn(
        Session.role(Upload, "Client", (ep) =>
          Effect.gen(function* () {
            const stored = yield* (yield* ep.send("Server", "data", "x")).receive()
            yield* stored.next.close()
            return stored.payload
          })
        ),
        { name: "client" }
      )
      // the server gets the data, then never answers: its node crashes first
      const slowServer = Session.role(Upload, "Server", (ep) =>
        Effect.gen(function* () {
          const data = yield* ep.receive()
          yield* Deferred.succeed(received, undefined)
          yield* Effect.never
          return data.payload.length
        })
      )
      const onBob = yield* bob.system.spawn(slowServer, { name: "server" })
      const serverRef = yield* alice.system.lookup(onBob.path, Session.protocolOf(Upload, "Server"), { node: "bob" })
      const run = yield* Effect.forkChild(
        Effect.flip(
          Session.run(Upload, { roles: { Client: client, Server: serverRef }, stepTimeout: "20 seconds" }).pipe(
            Effect.provideService(ActorSystem.ActorSystem, alice.system)
          )
        )
      )
      yield* Deferred.await(received)
      yield* bob.crash
      const error = yield* Fiber.join(run)
      assert.strictEqual(error._tag, "SessionAborted")
      assert.match(
        error.message,
        /Role Server \(\/user\/server\) left session .*: the link to its node ended: node bob /
      )
      assert.notInclude(error.message, "went down")
    })
  )
})
