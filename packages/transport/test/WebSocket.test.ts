/**
 * What only the WebSocket transport does: TLS, attaching to an existing HTTP(S) server, client-only
 * nodes, and start-up failures.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, PubSub, Scope } from "effect"
import { WebSocket as RawSocket, WebSocketServer } from "ws"
import { ActorAddress, Envelope, NodeId, type Peer, WebSocket } from "../src/index.ts"
import { fast } from "./support/harness.ts"

/** A self-signed certificate for localhost / 127.0.0.1, made with openssl. */
const selfSigned = () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-tls-"))
  try {
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
        ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]
      ],
      { stdio: "ignore" }
    )
    return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A started HTTP(S) server, closed with the scope. */
const serve = (server: Http.Server | Https.Server) =>
  Effect.acquireRelease(
    Effect.callback<Http.Server | Https.Server>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        resume(Effect.succeed(server))
      })
    }),
    (s) =>
      Effect.callback<void>((resume) => {
        s.close(() => resume(Effect.void))
      })
  )

/** Sends one envelope from `from` to node `to` and returns what `to` received. */
const roundTrip = (from: WebSocket.Options, to: WebSocket.Options) =>
  Effect.gen(function* () {
    const server = yield* WebSocket.make({ ...fast, ...to })
    const client = yield* WebSocket.make({ ...fast, ...from })
    const peer = yield* client.connect(Option.getOrThrow(server.address))
    yield* client.send(
      peer.node,
      Envelope.make({ kind: "tell", to: ActorAddress.make(peer.node, "/x"), payload: { hello: "there" } })
    )
    const [delivery] = yield* server.receive
    return { url: Option.getOrThrow(server.address), delivery: delivery! }
  })

describe("WebSocket", () => {
  it.live("serves wss on an HTTPS server with a TLS certificate", () =>
    Effect.gen(function* () {
      const { key, cert } = selfSigned()
      const https = yield* serve(Https.createServer({ key, cert }))
      const { url, delivery } = yield* roundTrip(
        { node: "client", tls: { ca: cert } },
        { node: "server", listen: { server: https, path: "/troupe" } }
      )
      assert.match(url, /^wss:\/\/127\.0\.0\.1:\d+\/troupe$/)
      assert.deepStrictEqual(delivery.envelope.payload, { hello: "there" })
      assert.strictEqual(delivery.from, "client")
    })
  )

  it.live("refuses a wss peer whose certificate it does not trust, at once and for good", () =>
    Effect.gen(function* () {
      const { key, cert } = selfSigned()
      const https = yield* serve(Https.createServer({ key, cert }))
      const server = yield* WebSocket.make({ ...fast, node: "server", listen: { server: https } })
      const client = yield* WebSocket.make({ ...fast, node: "client" })
      const error = yield* Effect.flip(client.connect(Option.getOrThrow(server.address)))
      assert.strictEqual(error.reason, "refused")
      assert.match(error.detail, /^TLS: self[- ]signed certificate/)
      assert.deepStrictEqual(yield* server.peers, [])
    })
  )

  it.live("shares a plain HTTP server with other routes and other WebSocket servers", () =>
    Effect.gen(function* () {
      const http = yield* serve(Http.createServer((_, res) => res.end("still serving")))
      const other = new WebSocketServer({ noServer: true })
      http.on("upgrade", (request, socket, head) => {
        if (request.url === "/other") other.handleUpgrade(request, socket, head, (ws) => ws.send("other here"))
      })
      const { url, delivery } = yield* roundTrip(
        { node: "client" },
        { node: "server", listen: { server: http, path: "/troupe" } }
      )
      assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/troupe$/)
      assert.strictEqual(delivery.envelope.to.node, NodeId.make("server"))
      const base = url.replace("/troupe", "")
      const body = yield* Effect.promise(() => fetch(base.replace("ws:", "http:")).then((r) => r.text()))
      assert.strictEqual(body, "still serving")
      const greeting = yield* Effect.callback<string>((resume) => {
        const socket = new RawSocket(`${base}/other`)
        socket.on("message", (data) => {
          resume(Effect.succeed(String(data)))
          socket.close()
        })
      })
      assert.strictEqual(greeting, "other here")
      other.close()
    })
  )

  it.live("fails to start with a typed error naming the problem", () =>
    Effect.gen(function* () {
      const first = yield* WebSocket.make({ ...fast, node: "first", listen: { port: 0 } })
      const port = Number(new URL(Option.getOrThrow(first.address)).port)
      const inUse = yield* Effect.flip(WebSocket.make({ ...fast, node: "second", listen: { port } }))
      assert.deepStrictEqual([inUse._tag, inUse.field], ["TransportStartError", "listen.port"])
      const badId = yield* Effect.flip(WebSocket.make({ node: "not a node id" }))
      assert.strictEqual(badId.field, "node")
      const badCapacity = yield* Effect.flip(WebSocket.make({ resendBuffer: { capacity: 0 } }))
      assert.strictEqual(badCapacity.field, "resendBuffer.capacity")
      const badDuration = yield* Effect.flip(WebSocket.make({ heartbeatInterval: "soon" as never }))
      assert.strictEqual(badDuration.field, "heartbeatInterval")
      const badPerAddress = yield* Effect.flip(WebSocket.make({ limits: { maxPeersPerAddress: 0 } }))
      assert.strictEqual(badPerAddress.field, "limits.maxPeersPerAddress")
    })
  )

  it.live("connect fails for a target that cannot be dialed", () =>
    Effect.gen(function* () {
      const node = yield* WebSocket.make({ ...fast, node: "lost" })
      const error = yield* Effect.flip(node.connect("not a url"))
      assert.deepStrictEqual([error._tag, error.reason], ["NodeUnreachable", "invalid"])
    })
  )

  it.live("a node that dials itself fails the connect", () =>
    Effect.gen(function* () {
      const node = yield* WebSocket.make({ ...fast, node: "narcissus", listen: { port: 0 } })
      const error = yield* Effect.flip(node.connect(Option.getOrThrow(node.address)))
      assert.strictEqual(error.reason, "self")
    })
  )
})

describe("graceful shutdown of a node that dialled", () => {
  it.live("says goodbye: its peer sees it leave at once, as a shutdown", () =>
    Effect.gen(function* () {
      const server = yield* WebSocket.make({ ...fast, node: "server", listen: { port: 0, host: "127.0.0.1" } })
      const events = yield* server.subscribe
      const clientScope = yield* Scope.make()
      const client = yield* WebSocket.make({ ...fast, node: "client" }).pipe(Scope.provide(clientScope))
      yield* client.connect(Option.getOrThrow(server.address))
      const up = yield* PubSub.take(events)
      assert.strictEqual(up._tag, "PeerUp")
      yield* Scope.close(clientScope, Exit.void)
      const down = yield* PubSub.take(events)
      assert.strictEqual(down._tag, "PeerDown")
      // said by the goodbye: a connection aborted instead would be declared "unreachable" by the detector
      assert.strictEqual((down as Peer.PeerDown).reason, "shutdown")
    })
  )
})
