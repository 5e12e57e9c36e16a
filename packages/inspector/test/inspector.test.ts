/**
 * The inspector's server over real HTTP: its state and live stream, its token-guarded actions (a person's move
 * checked and refused or sent), two nodes on real WebSocket links whose inspectors feed each other (a session
 * across them, an action forwarded, a node that leaves), and streams that close without leaking.
 */
import * as Http from "node:http"
import * as Net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, HumanRole, Protocol, Session } from "@troupe/runtime"
import { WebSocket } from "@troupe/transport"
import { Effect, Exit, Fiber, Option, Scope } from "effect"
import { buyerA, seller, TwoBuyer } from "../../runtime/test/choreography/fixtures.ts"
import { Inspector, View } from "../src/index.ts"

const human = Session.role(TwoBuyer, "B", HumanRole.play({ who: "Bea" }))

/** A live copy of an inspector's state, over its event stream (as the page keeps one). */
const watch = (address: string) =>
  Effect.gen(function* () {
    const controller = new AbortController()
    yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
    const response = yield* Effect.promise(() => fetch(`${address}api/events`, { signal: controller.signal }))
    assert.strictEqual(response.headers.get("content-type"), "text/event-stream")
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ""
    let state: View.State | undefined
    /** Reads events until `predicate` holds of the state (or `timeout` ms pass: then fails, saying what it waited for). */
    const until = (what: string, predicate: (state: View.State) => boolean, timeout = 20_000) =>
      Effect.promise(async () => {
        const deadline = Date.now() + timeout
        for (;;) {
          if (state !== undefined && predicate(state)) return state
          if (Date.now() > deadline) throw new Error(`waited ${timeout} ms for ${what}:\n${JSON.stringify(state)}`)
          const timer = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), deadline - Date.now()))
          const read = await Promise.race([reader.read(), timer])
          if (read === "late") continue
          if (read.done) throw new Error(`the stream ended while waiting for ${what}`)
          buffer += read.value
          let end = buffer.indexOf("\n\n")
          while (end >= 0) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            end = buffer.indexOf("\n\n")
            const event = /^event: (.*)$/m.exec(block)?.[1]
            const data = /^data: (.*)$/m.exec(block)?.[1]
            if (event === "reset") state = JSON.parse(data!) as View.State
            else if (event === "patch") for (const p of JSON.parse(data!) as Array<View.Patch>) View.apply(state!, p)
          }
        }
      })
    return { until }
  })

/** POSTs an action; answers the status and the body. */
const act = (address: string, action: unknown, token?: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${address}api/act`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
      },
      body: typeof action === "string" ? action : JSON.stringify(action)
    })
    return {
      status: response.status,
      body: (await response.json()) as { readonly ok?: boolean; readonly error?: string; readonly result?: string }
    }
  })

const questionOf = (state: View.State, node: string, session: string) =>
  Object.values(state.nodes[node]?.questions ?? {}).find((q) => q.session === session)

describe("Inspector", () => {
  it.live("serves the state and a live stream; a person's move, checked, through the token-guarded actions", () =>
    Effect.gen(function* () {
      const system = yield* ActorSystem.make({ name: "alice" })
      const inspector = yield* Inspector.start(system, { token: "t0k", interval: "50 millis" })
      assert.match(inspector.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=t0k$/)
      const page = yield* watch(inspector.address)
      yield* page.until("the node", (s) => s.self === "alice" && s.actions && s.nodes.alice?.inspected === true)

      const A = yield* system.spawn(buyerA, { name: "a" })
      const B = yield* system.spawn(human, { name: "bea" })
      const S = yield* system.spawn(seller, { name: "s" })
      const run = yield* Effect.forkChild(
        Session.run(TwoBuyer, { roles: { A, B, S }, id: "s-1" }).pipe(
          Effect.provideService(ActorSystem.ActorSystem, system)
        )
      )
      const asked = yield* page.until("Bea's question", (s) => questionOf(s, "alice", "s-1") !== undefined)
      const question = questionOf(asked, "alice", "s-1")!
      assert.deepInclude(question, { kind: "move", role: "B", path: "/user/bea" })
      assert.deepStrictEqual(
        (question.detail as { moves: ReadonlyArray<HumanRole.Offer> }).moves.map((m) => m.move),
        ["A!accept()", "A!reject()"]
      )
      // the session so far, as the page draws it
      assert.deepStrictEqual(
        View.sessionEntries(asked, "s-1")
          .filter((e) => e.kind === "send")
          .map((e) => `${e.role}->${e.peer}:${e.label}(${e.payload})`),
        ['A->S:title("Dune")', "S->A:quote(30)", "S->B:quote(30)", "A->B:split(15)"]
      )
      assert.deepInclude(asked.nodes.alice!.sessions["s-1"], {
        protocol: "TwoBuyer",
        roles: { A: "/user/a", B: "/user/bea", S: "/user/s" }
      })

      const answer = { kind: "answer", node: "alice", question: question.id, by: "Bea" }
      assert.strictEqual((yield* act(inspector.address, { ...answer, answer: { label: "accept" } })).status, 401)
      assert.strictEqual(
        (yield* act(inspector.address, { ...answer, answer: { label: "accept" } }, "wrong")).status,
        401
      )
      const illegal = yield* act(inspector.address, { ...answer, answer: { label: "buy", payload: "x" } }, "t0k")
      assert.strictEqual(illegal.status, 422)
      assert.include(illegal.body.error, `"buy" is not a legal move now: accept, reject`)
      // a bad action is answered with what was wrong, where, and which actions exist
      const bad = yield* act(inspector.address, "{ not json", "t0k")
      assert.strictEqual(bad.status, 400)
      assert.match(
        bad.body.error ?? "",
        /^The body is not JSON .*; the actions are stop \{ kind, node, path \}, cancel/
      )
      const unknown = yield* act(inspector.address, { kind: "launch", node: "alice" }, "t0k")
      assert.strictEqual(unknown.status, 400)
      assert.strictEqual(
        unknown.body.error,
        'Unknown action kind "launch": the actions are stop { kind, node, path }, ' +
          "cancel { kind, node, session, reason? }, answer { kind, node, question, answer, by? }"
      )
      const missing = yield* act(inspector.address, { kind: "stop", node: "alice" }, "t0k")
      assert.strictEqual(missing.status, 400)
      assert.match(missing.body.error ?? "", /^Action stop, field path: .*; stop takes \{ kind, node, path \}$/)
      const ok = yield* act(inspector.address, { ...answer, answer: { label: "accept" } }, "t0k")
      assert.deepStrictEqual(ok, { status: 200, body: { ok: true, result: `answered ${question.id}` } })
      const again = yield* act(inspector.address, { ...answer, answer: { label: "reject" } }, "t0k")
      assert.strictEqual(again.status, 404)

      assert.strictEqual((yield* Fiber.join(run)).results.S, "buy")
      const ended = yield* page.until("the end", (s) => s.nodes.alice?.sessions["s-1"]?.outcome === "completed")
      const entries = View.sessionEntries(ended, "s-1")
      assert.deepStrictEqual(
        entries.filter((e) => e.role === "B").map((e) => `${e.kind} ${e.label}`),
        ["receive quote", "receive split", "send accept"]
      )
      assert.deepStrictEqual(ended.nodes.alice!.questions, {})
      // every actor of the node, with its state
      const tree = yield* page.until("the tree", (s) => s.nodes.alice!.actors.some((a) => a.path === "/user/bea"))
      assert.deepInclude(
        tree.nodes.alice!.actors.find((a) => a.path === "/user/bea"),
        { parent: "/user", protocol: "TwoBuyer/B", restarts: 0 }
      )
      // stop an actor from the page
      assert.strictEqual(
        (yield* act(inspector.address, { kind: "stop", node: "alice", path: "/user/s" }, "t0k")).status,
        200
      )
      yield* page.until("the stopped actor gone", (s) => !s.nodes.alice!.actors.some((a) => a.path === "/user/s"))
      assert.strictEqual(
        (yield* act(inspector.address, { kind: "stop", node: "alice", path: "/user/s" }, "t0k")).status,
        404
      )
    }).pipe(Effect.scoped)
  )

  it.live("without a token it only shows; its port taken is a clear error", () =>
    Effect.gen(function* () {
      const system = yield* ActorSystem.make({ name: "bob" })
      const inspector = yield* Inspector.start(system)
      const refused = yield* act(inspector.address, { kind: "stop", node: "bob", path: "/user/x" }, "anything")
      assert.strictEqual(refused.status, 403)
      assert.include(refused.body.error, "read-only")
      assert.strictEqual(inspector.url, inspector.address)
      const page = yield* Effect.promise(() => fetch(inspector.address).then((r) => r.text()))
      assert.include(page, "<title>Troupe inspector</title>")
      // nothing to fetch from elsewhere: the page works offline
      assert.notMatch(page, /(src|href)="(https?:)?\/\//)
      const port = Number(new URL(inspector.address).port)
      // a page elsewhere that rebinds its own name to this machine is not answered
      const status = (host: string) =>
        Effect.promise(
          () =>
            new Promise<number | undefined>((resolve, reject) =>
              Http.get({ host: "127.0.0.1", port, path: "/api/state", headers: { host } }, (response) => {
                response.resume()
                resolve(response.statusCode)
              }).on("error", reject)
            )
        )
      assert.strictEqual(yield* status("evil.example"), 403)
      assert.strictEqual(yield* status(`localhost:${port}`), 200)
      const other = yield* ActorSystem.make({ name: "carol" })
      const taken = yield* Effect.flip(Inspector.start(other, { port }))
      assert.strictEqual(taken._tag, "InspectorError")
      assert.include(taken.message, `127.0.0.1:${port}`)
      assert.include(taken.message, `port ${port} is taken (listen EADDRINUSE`)
      assert.include(taken.message, "choose another, or 0 for a free one")
      assert.strictEqual(taken.part, "port")
      // a host name that does not resolve is named as the fault, with what to give instead
      const third = yield* ActorSystem.make({ name: "dave" })
      const nowhere = yield* Effect.flip(Inspector.start(third, { host: "no-such-host.invalid" }))
      assert.strictEqual(nowhere.part, "host", nowhere.message)
      assert.match(
        nowhere.message,
        /^The inspector could not start on no-such-host\.invalid:0: the host name no-such-host\.invalid (does not resolve|could not be resolved now) \(getaddrinfo E[A-Z_]+ no-such-host\.invalid.*\): .*give 127\.0\.0\.1 \(this machine only\), 0\.0\.0\.0/
      )
      // an empty token (an unset variable) would let anyone act with an empty Bearer: refused at start
      for (const token of ["", "   "]) {
        const empty = yield* Effect.flip(Inspector.start(other, { token }))
        assert.strictEqual(empty._tag, "InspectorError")
        assert.include(empty.message, "its token is empty")
      }
    }).pipe(Effect.scoped)
  )

  it.live(
    "a start that fails leaves nothing running and nothing in the scope: it starts again on the same system",
    () =>
      Effect.gen(function* () {
        const system = yield* ActorSystem.make({ name: "erin" })
        const blocker = Net.createServer()
        yield* Effect.acquireRelease(
          Effect.promise(() => new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))),
          () => Effect.promise(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
        )
        const port = (blocker.address() as Net.AddressInfo).port
        const actors = (yield* system.stats).actors
        const scope = yield* Scope.make()
        const failed = yield* Effect.flip(Inspector.start(system, { port }).pipe(Scope.provide(scope)))
        assert.strictEqual(failed.part, "port", failed.message)
        // before: its collector and feeds were forked in the caller's scope, its two actors left in the system (a start
        // again said "its actors could not start: An actor named /user/troupe-inspector-feed already exists")
        assert.strictEqual(scope.state._tag, "Empty")
        assert.strictEqual((yield* system.stats).actors, actors)
        const inspector = yield* Inspector.start(system).pipe(Scope.provide(scope))
        assert.strictEqual((yield* inspector.state).nodes.erin?.inspected, true)
        assert.strictEqual((yield* system.stats).actors, actors + 2)
        // and its actors stop with its scope
        yield* Scope.close(scope, Exit.void)
        assert.strictEqual((yield* system.stats).actors, actors)
      }).pipe(Effect.scoped)
  )

  it.live("pages that come and go: each stream ends with its page, nothing left behind", () =>
    Effect.gen(function* () {
      const system = yield* ActorSystem.make({ name: "dave" })
      const inspector = yield* Inspector.start(system, { interval: "20 millis" })
      const opened = yield* Effect.forEach(Array.from({ length: 8 }), () =>
        Effect.gen(function* () {
          const scope = yield* Scope.make()
          const page = yield* watch(inspector.address).pipe(Scope.provide(scope))
          yield* page.until("the node", (s) => s.self === "dave")
          return scope
        })
      )
      assert.strictEqual(yield* inspector.viewers, 8)
      // busy meanwhile: patches flow to every stream
      for (let i = 0; i < 20; i++)
        yield* system.spawn(Behavior.make(Protocol.make("P", {}), { initial: null, receive: {} }))
      yield* Effect.forEach(opened, (scope) => Scope.close(scope, Exit.void))
      while ((yield* inspector.viewers) > 0) yield* Effect.sleep("10 millis")
      // and the server still serves
      const page = yield* watch(inspector.address)
      yield* page.until("the actors", (s) => (s.nodes.dave?.actors.length ?? 0) >= 20)
      assert.strictEqual(yield* inspector.viewers, 1)
    }).pipe(Effect.scoped)
  )

  it.live(
    "two nodes: their inspectors feed each other; a session across them; an action forwarded; a node leaves",
    () =>
      Effect.gen(function* () {
        const a = yield* ActorSystem.make({
          name: "a",
          transport: WebSocket.layer({ node: "a", secret: "a-test-secret-of-32-characters!!", listen: { port: 0 } })
        })
        const bScope = yield* Scope.make()
        const b = yield* ActorSystem.make({
          name: "b",
          transport: WebSocket.layer({ node: "b", secret: "a-test-secret-of-32-characters!!" })
        }).pipe(Scope.provide(bScope))
        const onA = yield* Inspector.start(a, { token: "t", interval: "50 millis" })
        yield* Inspector.start(b, { token: "t", interval: "50 millis" }).pipe(Scope.provide(bScope))
        yield* b.connect(Option.getOrThrow(a.address))
        const page = yield* watch(onA.address)
        yield* page.until("b's part", (s) => s.nodes.b?.inspected === true && s.nodes.b.actors.length > 0)

        // a session with its human role on b, started on a
        yield* b.spawn(human, { name: "bea" })
        const A = yield* a.spawn(buyerA, { name: "a" })
        const S = yield* a.spawn(seller, { name: "s" })
        const B = yield* a.lookup("/user/bea", Session.protocolOf(TwoBuyer, "B"), { node: "b" })
        const run = yield* Effect.forkChild(
          Session.run(TwoBuyer, { roles: { A, B, S }, id: "x-1" }).pipe(
            Effect.provideService(ActorSystem.ActorSystem, a)
          )
        )
        const asked = yield* page.until("the question on b", (s) => questionOf(s, "b", "x-1") !== undefined)
        const question = questionOf(asked, "b", "x-1")!
        // answered through a's page, done on b
        const ok = yield* act(
          onA.address,
          { kind: "answer", node: "b", question: question.id, answer: { label: "reject" } },
          "t"
        )
        assert.strictEqual(ok.status, 200, ok.body.error)
        assert.strictEqual((yield* Fiber.join(run)).results.S, "cancel")
        const ended = yield* page.until(
          "the end, and b's steps",
          (s) =>
            s.nodes.a?.sessions["x-1"]?.outcome === "completed" &&
            (s.nodes.b?.sessions["x-1"]?.entries.length ?? 0) >= 3
        )
        // one session, drawn from both nodes' parts
        const merged = View.sessionEntries(ended, "x-1")
        assert.deepStrictEqual(
          merged.filter((e) => e.role === "B").map((e) => `${e.node} ${e.kind} ${e.label}`),
          ["b receive quote", "b receive split", "b send reject"]
        )
        assert.isTrue(merged.some((e) => e.node === "a" && e.role === "S" && e.label === "cancel"))

        // an action on b, through a
        yield* b.spawn(Behavior.make(Protocol.make("Victim", {}), { initial: null, receive: {} }), { name: "victim" })
        yield* page.until("b's victim", (s) => s.nodes.b!.actors.some((x) => x.path === "/user/victim"))
        const stopped = yield* act(onA.address, { kind: "stop", node: "b", path: "/user/victim" }, "t")
        assert.strictEqual(stopped.status, 200, stopped.body.error)
        yield* page.until("b's victim gone", (s) => !s.nodes.b!.actors.some((x) => x.path === "/user/victim"))
        const nowhere = yield* act(onA.address, { kind: "stop", node: "zed", path: "/user/x" }, "t")
        assert.strictEqual(nowhere.status, 404)

        // b leaves: its part stays, unreachable
        yield* Scope.close(bScope, Exit.void)
        yield* page.until("b unreachable", (s) => s.nodes.b?.reachable === false)
      }).pipe(Effect.scoped)
  )
})
