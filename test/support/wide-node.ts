/**
 * An actor system in its own process, on a WebSocket transport, for the wide-payload and fast-down tests: JSON
 * lines on stdin (commands) and stdout (events), logs on stderr (see `cluster.ts` for the protocol).
 *
 *   node test/support/wide-node.ts '{"node":"a","secret":"s"}'
 *
 * It hosts a `store` actor that keeps the fingerprint of every payload it receives (see `wide-shapes.ts`), sends
 * payloads of a named shape to another node's store, and reports the peer events it saw (with their reasons and
 * when, in its own clock) and the longest time its event loop could not run.
 */
import { type ActorRef, ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { type FailureDetector, Transport, WebSocket } from "@troupe/transport"
import { Effect, PubSub, Schema } from "effect"
import { emit, main, serve } from "./node-process.ts"
import { fingerprint, payloadOf, type Shape } from "./wide-shapes.ts"

export interface NodeSpec {
  readonly node: string
  readonly secret: string
  readonly heartbeatMs?: number
  /** The failure detector's timeout (a `Timeout` detector); the transport's default detector when left out. */
  readonly downAfterMs?: number
}

export type Command =
  | { readonly id: number; readonly cmd: "connect"; readonly url: string }
  /** Tells `to`'s store a payload of `shape` (under the message whose schema is `schema`). */
  | { readonly id: number; readonly cmd: "put"; readonly to: string; readonly shape: Shape; readonly schema: Kind }
  /** Asks `to`'s store for the fingerprints it holds (answered with a `seen` event). */
  | { readonly id: number; readonly cmd: "seen"; readonly to: string }
  | { readonly id: number; readonly cmd: "report" }
  | { readonly id: number; readonly cmd: "stop" }

/** How the payload is typed in the store's protocol. */
export type Kind = "json" | "unknown" | "record" | "array"

export interface PeerEvent {
  readonly event: "peer-up" | "peer-down"
  readonly node: string
  readonly incarnation: string
  readonly reason?: string
  readonly message?: string
  /** `Date.now()` in this process when the event was published. */
  readonly at: number
}

export type Event =
  | { readonly event: "ready"; readonly node: string; readonly incarnation: string; readonly url: string }
  | PeerEvent
  | { readonly event: "done"; readonly id: number }
  | { readonly event: "seen"; readonly id: number; readonly seen: Record<string, string> }
  | { readonly event: "report"; readonly id: number; readonly longestStallMs: number; readonly error?: string }
  | { readonly event: "failed"; readonly id: number; readonly error: string }

export const Store = Protocol.make("WideStore", {
  PutJson: { shape: Schema.String, data: Schema.Json },
  PutUnknown: { shape: Schema.String, data: Schema.Unknown },
  PutRecord: { shape: Schema.String, data: Schema.Record(Schema.String, Schema.Number) },
  PutArray: { shape: Schema.String, data: Schema.Array(Schema.Unknown) },
  Seen: Protocol.request({}, { success: Schema.Record(Schema.String, Schema.String) })
})

const store = Behavior.make(Store, {
  initial: {} as Record<string, string>,
  receive: {
    PutJson: (seen, { shape, data }) => Effect.succeed({ ...seen, [`${shape}/json`]: fingerprint(data) }),
    PutUnknown: (seen, { shape, data }) => Effect.succeed({ ...seen, [`${shape}/unknown`]: fingerprint(data) }),
    PutRecord: (seen, { shape, data }) => Effect.succeed({ ...seen, [`${shape}/record`]: fingerprint(data) }),
    PutArray: (seen, { shape, data }) => Effect.succeed({ ...seen, [`${shape}/array`]: fingerprint(data) }),
    Seen: (seen) => Effect.succeed({ state: seen, reply: seen })
  }
})

/** The longest time the event loop could not run (a 10 ms interval that fired late, by how much). */
const stalls = () => {
  let longest = 0
  let last = Date.now()
  setInterval(() => {
    const at = Date.now()
    longest = Math.max(longest, at - last - 10)
    last = at
  }, 10).unref()
  return () => longest
}

const program = (spec: NodeSpec) =>
  Effect.gen(function* () {
    const failureDetector: FailureDetector.Options | undefined =
      spec.downAfterMs === undefined ? undefined : { _tag: "Timeout", timeout: spec.downAfterMs }
    const transport = yield* WebSocket.make({
      node: spec.node,
      secret: spec.secret,
      listen: { port: 0, host: "127.0.0.1" },
      ...(spec.heartbeatMs === undefined ? {} : { heartbeatInterval: spec.heartbeatMs }),
      ...(failureDetector === undefined ? {} : { failureDetector })
    })
    const system = yield* ActorSystem.make({ name: spec.node, shutdownTimeout: "1 second" }).pipe(
      Effect.provideService(Transport.Transport, transport)
    )
    yield* system.spawn(store, { name: "store" })
    const longestStall = stalls()
    const events = yield* transport.subscribe
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.map(PubSub.take(events), (event) =>
          emit(
            event._tag === "PeerUp"
              ? { event: "peer-up", node: event.node, incarnation: event.incarnation, at: Date.now() }
              : {
                  event: "peer-down",
                  node: event.node,
                  incarnation: event.incarnation,
                  reason: event.reason,
                  message: event.message,
                  at: Date.now()
                }
          )
        )
      )
    )
    // looked up once per node, as an application keeps the refs it uses (each lookup is an ask of its own)
    const stores = new Map<string, ActorRef.ActorRef<typeof Store>>()
    const storeOf = (node: string) =>
      stores.has(node)
        ? Effect.succeed(stores.get(node)!)
        : Effect.tap(system.lookup("/user/store", Store, { node }), (ref) => Effect.sync(() => stores.set(node, ref)))
    const put = (command: Extract<Command, { cmd: "put" }>) =>
      Effect.gen(function* () {
        const ref = yield* storeOf(command.to)
        const data = payloadOf(command.shape) as never
        const shape = command.shape
        switch (command.schema) {
          case "json":
            return yield* ref.tell(Store.PutJson({ shape, data }))
          case "unknown":
            return yield* ref.tell(Store.PutUnknown({ shape, data }))
          case "record":
            return yield* ref.tell(Store.PutRecord({ shape, data }))
          case "array":
            return yield* ref.tell(Store.PutArray({ shape, data }))
        }
      })
    const url = transport.address._tag === "Some" ? transport.address.value : ""
    emit({ event: "ready", node: spec.node, incarnation: transport.incarnation, url })
    yield* serve<Command>((command) => {
      switch (command.cmd) {
        case "connect":
          return system.connect(command.url)
        case "put":
          return put(command)
        case "seen":
          return Effect.gen(function* () {
            const seen = yield* (yield* storeOf(command.to)).ask(Store.Seen(), { timeout: "60 seconds" })
            emit({ event: "seen", id: command.id, seen })
            return "answered" as const
          })
        case "report":
          return Effect.sync(() => {
            emit({ event: "report", id: command.id, longestStallMs: longestStall() })
            return "answered" as const
          })
        case "stop":
          return Effect.void
      }
    })
  })

main(program(JSON.parse(process.argv[2] ?? "{}") as NodeSpec))
