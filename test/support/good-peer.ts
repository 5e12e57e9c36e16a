/**
 * The well-behaved peer of the peer-trust tests (see `goodPeer` in `target-node.ts`), in a worker thread of its
 * own: it joins the target, then asks its echo actor in a loop (one ask at a time), and posts each answer and each
 * failure to the test. Its own event loop keeps its heartbeats on time while the test's attackers (thousands of
 * sockets, tens of thousands of frames written in synchronous loops) keep the test's loop busy: on a starved
 * machine they held its heartbeats back for 7 s, and the target rightly declared it down.
 */
import { parentPort } from "node:worker_threads"
import { ActorSystem } from "@troupe/runtime"
import { FailureDetector, Transport, WebSocket } from "@troupe/transport"
import { Cause, type Duration, Effect, Exit, Layer } from "effect"
import { Echo } from "../fixtures/cli/echo-protocol.ts"
import { worker } from "./worker.ts"

/** What the test gives the worker. */
export interface Options {
  readonly node: string
  readonly url: string
  readonly secret: string
  readonly askTimeout: Duration.Input
  readonly tls?: WebSocket.Tls
}

/** What the worker posts to the test. */
export type Message =
  | { readonly _tag: "Ready"; readonly incarnation: string }
  | { readonly _tag: "Answered" }
  | { readonly _tag: "Failed"; readonly detail: string }
  | { readonly _tag: "Stopped" }

const { options, post, run, close } = worker<Options, Message>()

const transport = await run(
  WebSocket.make({
    node: options.node,
    secret: options.secret,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    heartbeatInterval: "200 millis",
    // it bears the target's stalls as long as its asks wait (a starved target was seen stalled for 9 s): a
    // stall is not what these tests attack, and the asks would still be answered
    failureDetector: FailureDetector.phiAccrual({ acceptableHeartbeatPause: options.askTimeout })
  })
)
const system = await run(
  ActorSystem.make({
    name: options.node,
    askTimeout: options.askTimeout,
    transport: Layer.succeed(Transport.Transport, transport)
  })
)
const peer = await Effect.runPromise(system.connect(options.url))
const echo = await Effect.runPromise(system.lookup("/user/echo", Echo, { node: peer }))
post({ _tag: "Ready", incarnation: transport.incarnation })

let running = true
const loop = (async () => {
  for (let i = 0; running; i++) {
    const exit = await Effect.runPromiseExit(echo.ask(Echo.Echo({ text: `ask ${i}` })))
    if (Exit.isSuccess(exit) && exit.value === `${peer} echoes ask ${i}`) post({ _tag: "Answered" })
    else {
      post({ _tag: "Failed", detail: Exit.isSuccess(exit) ? `wrong answer: ${exit.value}` : Cause.pretty(exit.cause) })
      // an ask that fails at once must not starve the event loop (microtasks only) when the node is gone
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
})()
parentPort!.once("message", async () => {
  running = false
  await loop
  await close()
  post({ _tag: "Stopped" })
})
