/**
 * The handshake and the limits a peer cannot raise, at the transport's level: start-time checks of the
 * secret and of TLS options, a cap on peers and on handshakes in progress, an id in use that the dialer
 * cannot take (a final refusal), and a restarted node that replaces its silent old incarnation.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Logger, Option, Scope } from "effect"
import { WebSocket as RawSocket } from "ws"
import * as RawPeer from "../../../test/support/raw-peer.ts"
import { CloseCode, InProcess, WebSocket } from "../src/index.ts"
import { fast } from "./support/harness.ts"

const captured = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel} ${(message as ReadonlyArray<unknown>).join(" ")}`)
  })
  return { lines, layer: Logger.layer([logger]) }
}

describe("start-time checks", () => {
  it.live(
    "a secret shorter than 16 characters (spaces at its ends not counted), or none on a WebSocket node, refuses to start",
    () =>
      Effect.gen(function* () {
        for (const secret of ["", "s3cret", "fifteen chars!!", " ".repeat(16), "  fifteen chars!!  "]) {
          const error = yield* Effect.flip(WebSocket.make({ secret }))
          assert.strictEqual(error.field, "secret")
          assert.match(error.detail, /use at least 16/)
        }
        const network = InProcess.makeNetwork()
        assert.strictEqual((yield* Effect.flip(InProcess.make(network, { secret: "short" }))).field, "secret")
        const open = yield* Effect.flip(WebSocket.make({ listen: { port: 0 } }))
        assert.strictEqual(open.field, "secret")
        assert.match(open.detail, /insecureNoAuth: true/)
        const half = yield* Effect.flip(WebSocket.make({ ...fast, tls: { cert: "x" } }))
        assert.strictEqual(half.field, "tls.key")
        const exposed = yield* Effect.flip(
          WebSocket.make({ insecureNoAuth: true, listen: { port: 0, host: "0.0.0.0" } })
        )
        assert.strictEqual(exposed.field, "insecureNoAuth")
        // an open node for an experiment starts, and says so
        const log = captured()
        yield* WebSocket.make({ insecureNoAuth: true }).pipe(Effect.provide(log.layer))
        assert.isTrue(log.lines.some((line) => line.startsWith("Warn no authentication")))
      })
  )

  it.live("tls.rejectUnauthorized: false is not accepted silently", () =>
    Effect.gen(function* () {
      const log = captured()
      yield* WebSocket.make({ ...fast, tls: { rejectUnauthorized: false } }).pipe(Effect.provide(log.layer))
      assert.isTrue(log.lines.some((line) => /^Warn tls.rejectUnauthorized is false: peers' certificates/.test(line)))
    })
  )
})

describe("limits", () => {
  it.live("a cap on peers: beyond maxPeers a handshake is refused with 4008, and the dialer keeps trying", () =>
    Effect.gen(function* () {
      const hub = yield* WebSocket.make({ ...fast, node: "hub", listen: { port: 0 }, limits: { maxPeers: 2 } })
      const url = Option.getOrThrow(hub.address)
      const [a, b, c] = yield* Effect.forEach(["a", "b", "c"], (node) => WebSocket.make({ ...fast, node }))
      yield* a!.connect(url)
      yield* b!.connect(url)
      assert.isTrue(Option.isNone(yield* c!.connect(url).pipe(Effect.timeoutOption(300))))
      assert.strictEqual((yield* hub.stats).refused > 0, true)
      assert.deepStrictEqual((yield* hub.peers).map((p) => p.node).sort(), ["a", "b"])
    })
  )

  it.live(
    "a cap on peers per address: beyond maxPeersPerAddress links at one address a handshake is refused with 4008; a node at another address still links, and one that goes frees its place",
    () =>
      Effect.gen(function* () {
        const hub = yield* WebSocket.make({
          ...fast,
          node: "hub",
          listen: { port: 0, host: "127.0.0.1" },
          limits: { maxPeersPerAddress: 2 }
        })
        const url = Option.getOrThrow(hub.address)
        const first = yield* Scope.make()
        const a = yield* WebSocket.make({ ...fast, node: "a" }).pipe(Scope.provide(first))
        const [b, c] = yield* Effect.forEach(["b", "c"], (node) => WebSocket.make({ ...fast, node }))
        yield* a.connect(url)
        yield* b!.connect(url)
        assert.isTrue(Option.isNone(yield* c!.connect(url).pipe(Effect.timeoutOption(300))))
        assert.deepStrictEqual((yield* hub.peers).map((p) => p.node).sort(), ["a", "b"])
        // the hub dials a node at 127.0.0.2: another address
        const d = yield* WebSocket.make({ ...fast, node: "d", listen: { port: 0, host: "127.0.0.2" } })
        assert.strictEqual((yield* hub.connect(Option.getOrThrow(d.address))).node, "d")
        // a leaves: c, still dialing, takes its place
        yield* Scope.close(first, Exit.void)
        yield* c!.connect(url)
        assert.deepStrictEqual((yield* hub.peers).map((p) => p.node).sort(), ["b", "c", "d"])
      })
  )

  it.live("handshakes in progress are capped: the one beyond maxHandshakes is closed with 4008", () =>
    Effect.gen(function* () {
      const hub = yield* WebSocket.make({
        ...fast,
        node: "hub",
        listen: { port: 0 },
        handshakeTimeout: "500 millis",
        limits: { maxHandshakes: 3 }
      })
      const url = Option.getOrThrow(hub.address)
      const open = (n: number) =>
        Effect.forEach(Array.from({ length: n }), () =>
          Effect.callback<{ readonly code: Promise<number> }>((resume) => {
            const socket = new RawSocket(url)
            const code = new Promise<number>((done) => socket.on("close", (c) => done(c)))
            socket.on("error", () => {})
            socket.on("open", () => resume(Effect.succeed({ code })))
          })
        )
      const silent = yield* open(3)
      const [fourth] = yield* open(1)
      assert.strictEqual(yield* Effect.promise(() => fourth!.code), CloseCode.Overloaded)
      // the silent ones are closed when their handshake times out
      const codes = yield* Effect.promise(() => Promise.all(silent.map((s) => s.code)))
      assert.deepStrictEqual(codes, [
        CloseCode.HandshakeTimeout,
        CloseCode.HandshakeTimeout,
        CloseCode.HandshakeTimeout
      ])
    })
  )
})

describe("declared sizes", () => {
  it.live(
    "a hello declaring a frame limit too small for one envelope is refused at once, for good, naming the field",
    () =>
      Effect.gen(function* () {
        // a handshake timeout of a minute: the refusal must not be that timeout (it was: an error frame, then a wait)
        const hub = yield* WebSocket.make({ ...fast, node: "hub", listen: { port: 0 }, handshakeTimeout: "1 minute" })
        const url = Option.getOrThrow(hub.address)
        // below a data frame's overhead (80 bytes): every send to it would fail with "frame limit of -79"
        for (const maxFrameBytes of [1, 80, 1023]) {
          const peer = yield* Effect.promise(() => RawPeer.open(url))
          peer.send(RawPeer.hello(RawPeer.identity("tiny"), { maxFrameBytes }))
          const answer = yield* Effect.promise(() => peer.next())
          assert.deepInclude(answer, { type: "error", code: "bad-frame", field: "maxFrameBytes" })
          assert.match(String(answer.message), /a frame limit of at least 1024 bytes/)
          const closed = yield* Effect.promise(() =>
            Promise.race([peer.closed, new Promise((done) => setTimeout(() => done("still open after 10 s"), 10_000))])
          )
          assert.deepInclude(closed, { code: CloseCode.VersionMismatch }, `maxFrameBytes ${maxFrameBytes}`)
          assert.match(
            (closed as { reason: string }).reason,
            /^its hello is not one protocol \d+ accepts: maxFrameBytes: a frame limit of at least 1024 bytes/
          )
        }
        // the smallest limit allowed is challenged
        const peer = yield* Effect.promise(() => RawPeer.open(url))
        peer.send(RawPeer.hello(RawPeer.identity("tiny"), { maxFrameBytes: 1024 }))
        assert.strictEqual((yield* Effect.promise(() => peer.next())).type, "challenge")
        assert.deepStrictEqual(yield* hub.peers, [])
      })
  )
})

describe("identity", () => {
  it.live("a second live node with the same id is refused for good (4010) and its connect fails at once", () =>
    Effect.gen(function* () {
      const hub = yield* WebSocket.make({ ...fast, node: "hub", listen: { port: 0 } })
      const url = Option.getOrThrow(hub.address)
      const first = yield* WebSocket.make({ ...fast, node: "twin" })
      yield* first.connect(url)
      const second = yield* WebSocket.make({ ...fast, node: "twin" })
      const error = yield* Effect.flip(second.connect(url))
      assert.strictEqual(error.reason, "refused")
      assert.match(error.detail, /^IdInUse \(4010\): node id twin is in use by a live incarnation/)
      // the first keeps its link
      assert.deepStrictEqual(
        (yield* hub.peers).map((p) => p.incarnation),
        [first.incarnation]
      )
    })
  )

  it.live("a restarted node whose old incarnation is silent (its socket still open) replaces it after a probe", () =>
    Effect.gen(function* () {
      // a patient detector, so that only the probe can tell the old incarnation is gone
      const patient = { ...fast, failureDetector: { _tag: "Timeout", timeout: "1 minute" } } as const
      const hub = yield* WebSocket.make({ ...patient, node: "hub", listen: { port: 0 } })
      const url = Option.getOrThrow(hub.address)
      // the old incarnation: linked, then frozen (it answers nothing, and its socket stays open)
      const frozen = yield* Effect.promise(() => RawPeer.open(url))
      yield* Effect.promise(() => RawPeer.join(frozen, RawPeer.identity("worker"), fast.secret as string))
      const fresh = yield* WebSocket.make({ ...patient, node: "worker" })
      yield* fresh.connect(url)
      assert.deepStrictEqual(
        (yield* hub.peers).map((p) => p.incarnation),
        [fresh.incarnation]
      )
      assert.strictEqual((yield* Effect.promise(() => frozen.closed)).code, CloseCode.Quarantined)
    })
  )
})
