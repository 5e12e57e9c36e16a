/**
 * A target node in a worker thread of the test process (see `startTargetThread` in `target-node.ts`): the same
 * echo actor as the `troupe node` target, with timings and limits scaled down. Its own event loop, not the one
 * of the test's attackers: with its 500 ms acceptable heartbeat pause, a node sharing the loop of 300 ghost
 * handshakes on a starved machine declared its well-behaved peer down.
 */
import { parentPort } from "node:worker_threads"
import { ActorSystem, Behavior } from "@troupe/runtime"
import { FailureDetector, Transport, WebSocket } from "@troupe/transport"
import { Effect, Layer, Option, PubSub } from "effect"
import { Echo } from "../fixtures/cli/echo-protocol.ts"
import { worker } from "./worker.ts"

/** The timings and limits, scaled down. */
export interface Options {
  readonly secret: string
  readonly heartbeatMs: number
  readonly acceptablePauseMs: number
  readonly maxPeerHeartbeatMs: number
  readonly maxPeers: number
}

/** What the test asks the thread. */
export type Request = { readonly _tag: "Links"; readonly id: number } | { readonly _tag: "Stop" }

/** What the thread posts to the test. */
export type Message =
  | { readonly _tag: "Ready"; readonly url: string }
  | { readonly _tag: "Down"; readonly node: string; readonly reason: string }
  | { readonly _tag: "Links"; readonly id: number; readonly count: number }
  | { readonly _tag: "Stopped" }

const { options, post, run, close } = worker<Options, Message>()

const transport = await run(
  WebSocket.make({
    node: "target",
    secret: options.secret,
    listen: { port: 0, host: "127.0.0.1" },
    heartbeatInterval: `${options.heartbeatMs} millis`,
    failureDetector: FailureDetector.phiAccrual({ acceptableHeartbeatPause: `${options.acceptablePauseMs} millis` }),
    limits: { maxPeerHeartbeatInterval: `${options.maxPeerHeartbeatMs} millis`, maxPeers: options.maxPeers }
  })
)
const events = await run(transport.subscribe)
await run(
  Effect.forkScoped(
    Effect.forever(
      Effect.map(PubSub.take(events), (event) => {
        if (event._tag === "PeerDown") post({ _tag: "Down", node: event.node, reason: event.reason })
      })
    )
  )
)
const system = await run(ActorSystem.make({ name: "target", transport: Layer.succeed(Transport.Transport, transport) }))
await run(
  system.spawn(
    Behavior.make(Echo, {
      initial: null,
      receive: { Echo: (state, { text }) => Effect.succeed({ state, reply: `target echoes ${text}` }) }
    }),
    { name: "echo" }
  )
)
parentPort!.on("message", async (request: Request) => {
  if (request._tag === "Links") {
    post({ _tag: "Links", id: request.id, count: (await Effect.runPromise(transport.stats)).links.length })
  } else {
    await close()
    post({ _tag: "Stopped" })
  }
})
post({ _tag: "Ready", url: Option.getOrThrow(transport.address) })
