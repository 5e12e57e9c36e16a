/**
 * A transport node in its own process, driven by JSON lines on stdin and reporting JSON lines on
 * stdout (logs go to stderr). Started by `cluster.ts`; see `Command` and `Event` for the protocol.
 *
 *   node test/support/transport-node.ts '{"node":"a","secret":"s"}'
 *
 * It keeps exact books for delivery checks: every envelope it sends to a peer incarnation carries
 * `n` = 1, 2, 3... for that incarnation, and for every sender incarnation it counts what arrived,
 * how many were duplicates (n already seen) and how many went missing (n skipped).
 */

import { ActorAddress, Envelope, FailureDetector, NodeId, WebSocket } from "@troupe/transport"
import { Effect, Result, Semaphore, Stream } from "effect"
import { type Books, drained, enter, livePeers, type Received, received } from "./delivery.ts"
import { emit, main, serve } from "./node-process.ts"

export interface NodeSpec {
  readonly node: string
  readonly secret?: string
  readonly heartbeatMs?: number
  readonly downAfterMs?: number
  /** A phi accrual detector tolerating pauses this long (instead of the timeout detector). */
  readonly acceptablePauseMs?: number
  readonly capacity?: number
  /** Links to the members its peers name (default true). */
  readonly connectAll?: boolean
}

export type Command =
  | { readonly id: number; readonly cmd: "connect"; readonly url: string }
  | {
      readonly id: number
      readonly cmd: "send"
      readonly to: string
      readonly count: number
      /** Paces the sends (at about this many per second); as fast as the link allows when left out. */
      readonly perSecond?: number
    }
  | { readonly id: number; readonly cmd: "drain" }
  | { readonly id: number; readonly cmd: "report" }
  /** Blocks the event loop with a synchronous busy loop for `ms` (a stalled node). */
  | { readonly id: number; readonly cmd: "stall"; readonly ms: number }
  | { readonly id: number; readonly cmd: "stop" }

export interface Report {
  readonly node: string
  readonly incarnation: string
  /** Per peer `node/incarnation`: envelopes accepted by `send`. */
  readonly sent: Record<string, number>
  /** Per sender `node/incarnation`. */
  readonly received: Record<string, Received>
}

export type Event =
  | { readonly event: "ready"; readonly node: string; readonly incarnation: string; readonly url: string }
  | {
      readonly event: "peer-up" | "peer-down"
      readonly node: string
      readonly incarnation: string
      readonly reason?: string
    }
  | { readonly event: "done"; readonly id: number }
  | { readonly event: "report"; readonly id: number; readonly report: Report }
  | { readonly event: "failed"; readonly id: number; readonly error: string }

const key = (node: string, incarnation: string) => `${node}/${incarnation}`

const program = (spec: NodeSpec) =>
  Effect.gen(function* () {
    const transport = yield* WebSocket.make({
      node: spec.node,
      secret: spec.secret,
      listen: { port: 0 },
      heartbeatInterval: spec.heartbeatMs ?? 200,
      failureDetector:
        spec.acceptablePauseMs === undefined
          ? { _tag: "Timeout", timeout: spec.downAfterMs ?? 3000 }
          : FailureDetector.phiAccrual({ acceptableHeartbeatPause: spec.acceptablePauseMs }),
      connectAll: spec.connectAll,
      reconnect: { initialDelay: "20 millis", maxDelay: "500 millis" },
      resendBuffer: { capacity: spec.capacity ?? 2048 },
      shutdownTimeout: "2 seconds"
    })
    const { live, until } = yield* livePeers(transport, (event) =>
      emit(
        event._tag === "PeerUp"
          ? { event: "peer-up", node: event.node, incarnation: event.incarnation }
          : { event: "peer-down", node: event.node, incarnation: event.incarnation, reason: event.reason }
      )
    )

    const sent: Record<string, number> = {}
    const books: Books = {}
    yield* Effect.forkScoped(
      transport.inbound.pipe(
        Stream.runForEach((delivery) =>
          Effect.sync(() =>
            enter(
              books,
              key(delivery.from, delivery.incarnation),
              (delivery.envelope.payload as { readonly n: number }).n
            )
          )
        )
      )
    )

    /** One sender at a time per destination, so the numbering stays gap-free. */
    const locks = new Map<string, Semaphore.Semaphore>()
    const exclusive = (to: string) => {
      const lock = locks.get(to) ?? Semaphore.makeUnsafe(1)
      locks.set(to, lock)
      return Semaphore.withPermit(lock)
    }

    /** Sends `count` envelopes to node `to`, following it across incarnations. */
    const sendTo = (to: string, count: number, perSecond?: number) =>
      Effect.gen(function* () {
        const address = ActorAddress.make(NodeId.make(to), "/sink")
        const slice = perSecond === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.round(perSecond / 100))
        let remaining = count
        while (remaining > 0) {
          const peer = live.get(to)
          if (peer === undefined) {
            yield* until(() => live.get(to) !== undefined)
            continue
          }
          const book = key(peer.node, peer.incarnation)
          const n = (sent[book] ?? 0) + 1
          const result = yield* Effect.result(
            transport.send(peer, Envelope.make({ kind: "tell", to: address, payload: { n } }))
          )
          if (Result.isFailure(result) && result.failure._tag !== "NodeUnreachable") return yield* result.failure
          if (Result.isSuccess(result)) {
            sent[book] = n
            remaining--
            if (remaining % slice === 0) yield* Effect.sleep(10)
          } else {
            // the event saying it is down may not have been handled yet
            yield* until(() => live.get(to)?.incarnation !== peer.incarnation)
          }
        }
      }).pipe(exclusive(to))

    const report = (): Report => ({
      node: spec.node,
      incarnation: transport.incarnation,
      sent: { ...sent },
      received: received(books)
    })

    const url = transport.address._tag === "Some" ? transport.address.value : ""
    emit({ event: "ready", node: spec.node, incarnation: transport.incarnation, url })
    yield* serve<Command>((command) => {
      switch (command.cmd) {
        case "connect":
          return transport.connect(command.url)
        case "send":
          return sendTo(command.to, command.count, command.perSecond)
        case "drain":
          return drained(transport)
        case "report":
          return Effect.sync(() => {
            emit({ event: "report", id: command.id, report: report() })
            return "answered" as const
          })
        case "stall":
          return Effect.sync(() => {
            const end = Date.now() + command.ms
            while (Date.now() < end) {
              // a synchronous handler that keeps the event loop busy
            }
          })
        case "stop":
          return Effect.void
      }
    })
  })

main(program(JSON.parse(process.argv[2] ?? "{}") as NodeSpec))
