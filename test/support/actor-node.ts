/**
 * An actor system in its own process, on a WebSocket transport, driven by JSON lines on stdin and
 * reporting JSON lines on stdout (see `cluster.ts` for the protocol; logs go to stderr).
 *
 *   node test/support/actor-node.ts '{"node":"a","secret":"s"}'
 *
 * It hosts a `sink` actor that keeps exact books of the numbered messages it receives (per sender
 * incarnation: how many, duplicates, gaps), and answers asks. Its driver sends numbered tells to the sinks
 * of other nodes (following them across incarnations) with an ask every `askEvery` tells, and records how
 * each ask ended and how long it took against its deadline.
 */
import { ActorSystem, Behavior, Mailbox, Protocol, type SystemEvent } from "@troupe/runtime"
import { type Peer, Transport, WebSocket } from "@troupe/transport"
import { Duration, Effect, Exit, Schema, Semaphore, Stream } from "effect"
import { type Books, drained, enter, livePeers, MAX_GAPS, type Received, received } from "./delivery.ts"
import { emit, main, serve } from "./node-process.ts"
import { starvation } from "./starvation.ts"

export interface NodeSpec {
  readonly node: string
  readonly secret?: string
  readonly heartbeatMs?: number
  readonly downAfterMs?: number
  /** The links' resend buffer (envelopes unacknowledged per link; default 8192). */
  readonly resendCapacity?: number
  /** The sink's mailbox capacity (default 1024): a small one parks deliveries from other nodes. */
  readonly sinkMailbox?: number
  /** Also subscribe to the system's events with a slow subscriber (1 ms per event): see `Report.slow`. */
  readonly slowSubscriber?: boolean
}

export type Command =
  | { readonly id: number; readonly cmd: "connect"; readonly url: string }
  | {
      readonly id: number
      readonly cmd: "send"
      readonly to: string
      readonly count: number
      readonly perSecond?: number
      /** One ask every this many tells (none when left out). */
      readonly askEvery?: number
      readonly askTimeoutMs?: number
      /**
       * How many asks may wait for their replies while the tells go on (default 1: each ask is waited for before
       * the next tell). On a starved machine an ask's round trip takes hundreds of ms, and asks one at a time made
       * most of a run's time.
       */
      readonly asksInFlight?: number
    }
  | { readonly id: number; readonly cmd: "drain" }
  /** The transport's links now (answered with a `links` event). */
  | { readonly id: number; readonly cmd: "links" }
  | { readonly id: number; readonly cmd: "report" }
  /** Blocks the event loop with a synchronous busy loop for `ms` (a stalled node). */
  | { readonly id: number; readonly cmd: "stall"; readonly ms: number }
  | { readonly id: number; readonly cmd: "stop" }

/** How the asks to one node ended. */
export interface Asks {
  readonly ok: number
  readonly failed: Record<string, number>
  /**
   * Asks that ended later than their deadline by more than a margin plus the time this node's event loop could
   * not run meanwhile (see {@link Asks.lateStarved}): the ask's own deadline was late.
   */
  readonly late: number
  /**
   * Asks that ended later than their deadline by more than the margin, all of it explained by this node's event
   * loop not running between the deadline and the end (a starved or busy process: no timer fires then).
   */
  readonly lateStarved: number
  readonly slowestMs: number
  /** The ask that overshot its deadline most: by how much, and how long the event loop could not run meanwhile. */
  readonly worst?: { readonly overshootMs: number; readonly starvedMs: number }
}

export interface Report {
  readonly node: string
  readonly incarnation: string
  /** Per peer `node/incarnation`: tells sent (accepted by the transport). */
  readonly sent: Record<string, number>
  /** Per peer `node/incarnation`: tells that became dead letters because the node was unreachable. */
  readonly undelivered: Record<string, number>
  /** Per peer `node/incarnation`: the numbers of those dead letters (the first `MAX_GAPS`). */
  readonly undeliveredSeqs: Record<string, ReadonlyArray<number>>
  /** Per sender `node/incarnation`. */
  readonly received: Record<string, Received>
  readonly asks: Record<string, Asks>
  /** Every dead letter of this system so far (`system.deadLetters`). */
  readonly deadLetters: number
  /** Every dead letter its event-stream subscriber saw (any reason). */
  readonly deadLettersSeen: number
  /** What that subscriber was told it missed (`EventsMissed`): events, dead letters among them. */
  readonly missed: { readonly events: number; readonly deadLetters: number }
  /** The same books of the slow subscriber (with `slowSubscriber`). */
  readonly slow?: {
    readonly deadLettersSeen: number
    readonly missed: { readonly events: number; readonly deadLetters: number }
  }
}

export type Event =
  | { readonly event: "ready"; readonly node: string; readonly incarnation: string; readonly url: string }
  | { readonly event: "peer-up" | "peer-down"; readonly node: string; readonly incarnation: string }
  | { readonly event: "done"; readonly id: number }
  | { readonly event: "report"; readonly id: number; readonly report: Report }
  | { readonly event: "links"; readonly id: number; readonly links: ReadonlyArray<Transport.LinkStats> }
  | { readonly event: "failed"; readonly id: number; readonly error: string }

export const Sink = Protocol.make("Sink", {
  /** `to` names the recipient incarnation, so that a dead letter says which books it belongs to. */
  Deliver: { from: Schema.String, to: Schema.String, n: Schema.Number },
  Echo: Protocol.request({ n: Schema.Number }, { success: Schema.Number }),
  Books: Protocol.request(
    {},
    {
      success: Schema.Record(
        Schema.String,
        Schema.Struct({
          count: Schema.Number,
          duplicates: Schema.Number,
          missing: Schema.Number,
          next: Schema.Number,
          gaps: Schema.Array(Schema.Number)
        })
      )
    }
  )
})

const sink = Behavior.make(Sink, {
  initial: {} as Books,
  receive: {
    Deliver: (books, { from, n }) =>
      Effect.sync(() => {
        enter(books, from, n)
        return books
      }),
    Echo: (books, { n }) => Effect.succeed({ state: books, reply: n }),
    Books: (books) => Effect.succeed({ state: books, reply: books })
  }
})

/** An ask may end this much after its deadline, beyond the time this node's event loop could not run. */
const ASK_MARGIN_MS = 250

const program = (spec: NodeSpec) =>
  Effect.gen(function* () {
    const transport = yield* WebSocket.make({
      node: spec.node,
      secret: spec.secret,
      listen: { port: 0, host: "127.0.0.1" },
      heartbeatInterval: spec.heartbeatMs ?? 200,
      failureDetector: { _tag: "Timeout", timeout: spec.downAfterMs ?? 3000 },
      reconnect: { initialDelay: "20 millis", maxDelay: "500 millis" },
      ...(spec.resendCapacity === undefined ? {} : { resendBuffer: { capacity: spec.resendCapacity } })
    })
    const system = yield* ActorSystem.make({ name: spec.node, shutdownTimeout: "1 second" }).pipe(
      Effect.provideService(Transport.Transport, transport)
    )
    const self = `${spec.node}/${transport.incarnation}`
    yield* system.spawn(sink, {
      name: "sink",
      ...(spec.sinkMailbox === undefined ? {} : { mailbox: Mailbox.bounded(spec.sinkMailbox) })
    })

    const { live, until } = yield* livePeers(transport, (event) =>
      emit({
        event: event._tag === "PeerUp" ? "peer-up" : "peer-down",
        node: event.node,
        incarnation: event.incarnation
      })
    )

    const sent: Record<string, number> = {}
    /**
     * One tell at a time per book: two sends to the same node (a second `send` while the first goes on) must not
     * number two tells alike, which they did when a tell waited for room in the link and the other took its number.
     */
    const telling = new Map<string, Semaphore.Semaphore>()
    const undelivered: Record<string, number> = {}
    const undeliveredSeqs: Record<string, Array<number>> = {}
    const asks: Record<
      string,
      {
        ok: number
        failed: Record<string, number>
        late: number
        lateStarved: number
        slowestMs: number
        worst?: { overshootMs: number; starvedMs: number }
      }
    > = {}
    const starvedBetween = starvation()
    const slow = { deadLettersSeen: 0, missed: { events: 0, deadLetters: 0 } }
    if (spec.slowSubscriber === true) {
      yield* (yield* system.subscribe).pipe(
        Stream.runForEach((event) =>
          Effect.andThen(
            Effect.sync(() => {
              if (event._tag === "DeadLetter") slow.deadLettersSeen++
              if (event._tag !== "EventsMissed") return
              slow.missed.events += event.count
              slow.missed.deadLetters += event.deadLetters
            }),
            Effect.sleep(1)
          )
        ),
        Effect.forkScoped
      )
    }
    let deadLettersSeen = 0
    const missed = { events: 0, deadLetters: 0 }
    // tells the transport refused because their node was down become dead letters: count them per book; and what
    // the subscriber was told it missed (if it fell behind, the books of dead letters are incomplete by that much)
    yield* (yield* system.subscribe).pipe(
      Stream.filter(
        (e): e is SystemEvent.DeadLetter | SystemEvent.EventsMissed =>
          e._tag === "DeadLetter" || e._tag === "EventsMissed"
      ),
      Stream.runForEach((event) =>
        Effect.sync(() => {
          if (event._tag === "EventsMissed") {
            missed.events += event.count
            missed.deadLetters += event.deadLetters
            return
          }
          deadLettersSeen++
          if (event.reason !== "unreachable") return
          const { to, n } = event.message as { readonly to?: string; readonly n?: number }
          const book = to ?? "?"
          undelivered[book] = (undelivered[book] ?? 0) + 1
          const seqs = (undeliveredSeqs[book] ??= [])
          if (typeof n === "number" && seqs.length < MAX_GAPS) seqs.push(n)
        })
      ),
      Effect.forkScoped
    )

    const sendTo = (command: Extract<Command, { cmd: "send" }>) =>
      Effect.gen(function* () {
        const { to, count } = command
        const pace =
          command.perSecond === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.round(command.perSecond / 100))
        const askTimeout = command.askTimeoutMs ?? 3000
        const inFlight = command.asksInFlight ?? 1
        const asking = yield* Semaphore.make(inFlight)
        // the pace is a schedule (tell i is due i / perSecond seconds after the start), not a fixed sleep per batch:
        // on a starved machine each sleep lasts far longer than asked, and sleeps added up to most of a run
        const startedAt = Date.now()
        let told = 0
        let remaining = count
        let ref:
          | { readonly incarnation: string; readonly actor: import("@troupe/runtime").ActorRef<typeof Sink> }
          | undefined
        while (remaining > 0) {
          const peer = live.get(to)
          if (peer === undefined) {
            yield* until(() => live.get(to) !== undefined)
            continue
          }
          if (ref?.incarnation !== peer.incarnation) {
            const found = yield* Effect.result(system.lookup("/user/sink", Sink, { node: to }))
            if (found._tag === "Failure") {
              yield* Effect.sleep(20)
              continue
            }
            // the incarnation the ref is pinned to (a test peeks at the remote ref's peer)
            const pinned = (found.success as unknown as { readonly peer?: Peer.Peer }).peer?.incarnation
            ref = { incarnation: pinned ?? peer.incarnation, actor: found.success }
          }
          const book = `${to}/${ref.incarnation}`
          let lock = telling.get(book)
          if (lock === undefined) telling.set(book, (lock = yield* Semaphore.make(1)))
          const actor = ref.actor
          const n = yield* Semaphore.withPermits(
            lock,
            1
          )(
            Effect.suspend(() => {
              const next = (sent[book] ?? 0) + 1
              return Effect.map(actor.tell(Sink.Deliver({ from: self, to: book, n: next })), () => {
                sent[book] = next
                return next
              })
            })
          )
          remaining--
          told++
          if (command.askEvery !== undefined && remaining % command.askEvery === 0) {
            const ask = Effect.gen(function* () {
              const started = Date.now()
              const exit = yield* Effect.exit(actor.ask(Sink.Echo({ n }), { timeout: Duration.millis(askTimeout) }))
              const ended = Date.now()
              const elapsed = ended - started
              const stats = (asks[book] ??= { ok: 0, failed: {}, late: 0, lateStarved: 0, slowestMs: 0 })
              stats.slowestMs = Math.max(stats.slowestMs, elapsed)
              const overshootMs = elapsed - askTimeout
              if (overshootMs > ASK_MARGIN_MS) {
                // past its deadline: by the time this node could not run after it, or by the ask's own doing?
                const starvedMs = starvedBetween(started + askTimeout, ended)
                if (overshootMs > starvedMs + ASK_MARGIN_MS) stats.late++
                else stats.lateStarved++
                if (overshootMs > (stats.worst?.overshootMs ?? 0)) stats.worst = { overshootMs, starvedMs }
              }
              if (Exit.isSuccess(exit) && exit.value === n) stats.ok++
              else {
                const tag = Exit.isSuccess(exit)
                  ? "wrong-reply"
                  : String((exit.cause.reasons[0] as { error?: { _tag?: string } })?.error?._tag ?? "defect")
                stats.failed[tag] = (stats.failed[tag] ?? 0) + 1
              }
            })
            yield* Semaphore.take(asking, 1)
            if (inFlight === 1) yield* Effect.ensuring(ask, Semaphore.release(asking, 1))
            else yield* Effect.forkChild(Effect.ensuring(ask, Semaphore.release(asking, 1)), { startImmediately: true })
          }
          if (told % pace === 0) {
            const ahead = startedAt + (told * 1000) / command.perSecond! - Date.now()
            if (ahead > 0) yield* Effect.sleep(ahead)
          }
        }
        // the asks still waiting for their replies
        yield* Semaphore.take(asking, inFlight)
      })

    const report = Effect.gen(function* () {
      const sinkRef = yield* system.lookup("/user/sink", Sink)
      const books = yield* sinkRef.ask(Sink.Books())
      return {
        node: spec.node,
        incarnation: transport.incarnation,
        sent: { ...sent },
        undelivered: { ...undelivered },
        undeliveredSeqs: structuredClone(undeliveredSeqs),
        received: received(books),
        asks: structuredClone(asks),
        deadLetters: yield* system.deadLetters,
        deadLettersSeen,
        missed: { ...missed },
        ...(spec.slowSubscriber === true ? { slow: structuredClone(slow) } : {})
      } satisfies Report
    })

    const url = transport.address._tag === "Some" ? transport.address.value : ""
    emit({ event: "ready", node: spec.node, incarnation: transport.incarnation, url })
    yield* serve<Command>((command) => {
      switch (command.cmd) {
        case "connect":
          return system.connect(command.url)
        case "send":
          return sendTo(command)
        case "drain":
          return drained(transport)
        case "links":
          return Effect.map(transport.stats, (stats) => {
            emit({ event: "links", id: command.id, links: stats.links })
            return "answered" as const
          })
        case "report":
          return Effect.map(report, (r) => {
            emit({ event: "report", id: command.id, report: r })
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
