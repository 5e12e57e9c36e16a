/**
 * The system's events for the Promise API: one subscription (made when the troupe starts), fanned out to async
 * iterators, and the events of each session recorded from its start so that a browser that connects late,
 * or reconnects with `Last-Event-ID`, gets all of them. Recordings are bounded: a session keeps its latest
 * {@link perSession} events, and only the {@link endedKept} sessions that ended last are kept.
 */
import { Effect, Exit, Schema, Scope, Stream } from "effect"
import type { ActorSystem, ActorSystemService } from "../ActorSystem.ts"
import type { SessionEvent } from "../choreography/SessionEvent.ts"
import { EventsMissed, type SystemEvent } from "../SystemEvent.ts"
import type { NodeResponse, SessionEvents } from "../Troupe.ts"
import { EVENT_BUFFER, isKept } from "./eventStream.ts"

/** No session with this id was started here, or it ended too long ago to be remembered. */
export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", {
  session: Schema.String
}) {
  override get message() {
    return `No session ${this.session} here: start it with troupe.startSession, or ask for its events while it runs`
  }
}

const perSession = 1000
const endedKept = 200
/** Events kept for a reader of {@link EventFeed.all} that does not keep up (as the system's stream keeps). */
const systemBuffer = EVENT_BUFFER
const heartbeatMillis = 15_000

type Run = <A, E>(effect: Effect.Effect<A, E, ActorSystem>) => Promise<A>

interface Recording {
  /** The events kept; `events[i]` has the id `first + i` (ids start at 1). */
  readonly events: Array<SessionEvent>
  first: number
  ended: boolean
  readonly wake: Set<() => void>
}

const isSessionEvent = (event: SystemEvent): event is SessionEvent => "session" in event

export class EventFeed {
  private started: Promise<Scope.Closeable> | undefined
  private closed = false
  private readonly listeners = new Set<(event: SystemEvent | undefined) => void>()
  private readonly sessions = new Map<string, Recording>()
  private readonly ended: Array<string> = []

  private readonly system: ActorSystemService
  private readonly run: Run

  constructor(system: ActorSystemService, run: Run) {
    this.system = system
    this.run = run
  }

  /** Subscribes to the system's events (once). */
  async open(): Promise<void> {
    await this.start()
  }

  /** Subscribes to the system's events, once (and never after `close`). */
  private start(): Promise<Scope.Closeable | undefined> {
    if (this.closed) return Promise.resolve(this.started === undefined ? undefined : this.started)
    const dispatch = (event: SystemEvent) => Effect.sync(() => this.dispatch(event))
    const subscribe = this.system.subscribe
    this.started ??= this.run(
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const stream = yield* Scope.provide(subscribe, scope)
        yield* Effect.forkIn(Stream.runForEach(stream, dispatch), scope)
        return scope
      })
    )
    return this.started
  }

  private dispatch(event: SystemEvent): void {
    for (const listener of this.listeners) listener(event)
    if (!isSessionEvent(event)) return
    const recording = this.recording(event.session)
    recording.events.push(event)
    if (recording.events.length > perSession) {
      recording.events.shift()
      recording.first++
    }
    if (event._tag === "SessionEnded") {
      recording.ended = true
      this.ended.push(event.session)
      if (this.ended.length > endedKept) this.sessions.delete(this.ended.shift()!)
    }
    for (const wake of recording.wake) wake()
  }

  private recording(session: string): Recording {
    let recording = this.sessions.get(session)
    if (recording === undefined) {
      recording = { events: [], first: 1, ended: false, wake: new Set() }
      this.sessions.set(session, recording)
    }
    return recording
  }

  /** Records a session's events from now on (call it before the session starts). */
  async expectSession(session: string): Promise<void> {
    await this.start()
    this.recording(session)
  }

  /**
   * The system's events from now on. A slow reader keeps the latest {@link systemBuffer} it has not taken: an
   * `EventsMissed` event comes in place of the older ones it missed, followed by those of them it must not miss (a
   * `DurableStopped`: see `isKept`).
   */
  all(): AsyncIterable<SystemEvent> {
    return {
      [Symbol.asyncIterator]: () => {
        const queue: Array<SystemEvent> = []
        let wake: (() => void) | undefined
        let done = this.closed
        // dropped for this reader, before the oldest event in `queue`
        let missed = 0
        let missedDeadLetters = 0
        // dropped for this reader but given after the `EventsMissed` (see `isKept`)
        const kept: Array<SystemEvent> = []
        const listener = (event: SystemEvent | undefined) => {
          if (event === undefined) done = true
          else if (queue.push(event) > systemBuffer) {
            const dropped = queue.shift()!
            if (isKept(dropped)) kept.push(dropped)
            else missed += dropped._tag === "EventsMissed" ? dropped.count : 1
            missedDeadLetters +=
              dropped._tag === "EventsMissed" ? dropped.deadLetters : dropped._tag === "DeadLetter" ? 1 : 0
          }
          wake?.()
        }
        this.listeners.add(listener)
        const ready = this.start()
        const finish = () => {
          done = true
          this.listeners.delete(listener)
          wake?.()
          return Promise.resolve({ done: true as const, value: undefined })
        }
        return {
          next: async (): Promise<IteratorResult<SystemEvent>> => {
            await ready
            while (queue.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve))
            if (missed > 0) {
              const value = new EventsMissed({ count: missed, deadLetters: missedDeadLetters })
              missed = 0
              missedDeadLetters = 0
              return { done: false, value }
            }
            if (kept.length > 0) return { done: false, value: kept.shift()! }
            return queue.length > 0 ? { done: false, value: queue.shift()! } : finish()
          },
          return: finish
        }
      }
    }
  }

  /** A session's events after `lastEventId` (from its start without one). */
  session(session: string, lastEventId?: string): SessionEvents {
    void this.start()
    const after = Number.parseInt(lastEventId ?? "0", 10)
    const events = () => this.cursor(session, Number.isSafeInteger(after) && after > 0 ? after : 0)
    return {
      [Symbol.asyncIterator]: () => {
        const cursor = events()
        return {
          next: async () => {
            const next = await cursor.next()
            return next.done ? next : { done: false, value: next.value[1] }
          },
          return: async () => {
            await cursor.return()
            return { done: true, value: undefined }
          }
        }
      },
      response: () => (this.sessions.has(session) ? sseResponse(events()) : notFound(new SessionNotFound({ session }))),
      writeTo: (res) =>
        this.sessions.has(session)
          ? writeSse(events(), res)
          : Promise.resolve(writeNotFound(res, new SessionNotFound({ session })))
    }
  }

  /** The events of a session as `[id, event]`, waiting for new ones until it ends. */
  private cursor(session: string, after: number) {
    let next = after + 1
    let stopped = false
    let wake: (() => void) | undefined
    return {
      next: async (): Promise<IteratorResult<readonly [number, SessionEvent], undefined>> => {
        await this.start()
        const recording = this.sessions.get(session)
        if (recording === undefined) throw new SessionNotFound({ session })
        for (;;) {
          if (stopped || this.closed) return { done: true, value: undefined }
          next = Math.max(next, recording.first)
          const event = recording.events[next - recording.first]
          if (event !== undefined) return { done: false, value: [next++, event] }
          if (recording.ended) return { done: true, value: undefined }
          await new Promise<void>((resolve) => {
            wake = resolve
            recording.wake.add(resolve)
          })
          recording.wake.delete(wake!)
        }
      },
      return: async () => {
        stopped = true
        wake?.()
      }
    }
  }

  /** Ends every iterator and the subscription. */
  async close(): Promise<void> {
    this.closed = true
    for (const listener of this.listeners) listener(undefined)
    for (const recording of this.sessions.values()) for (const wake of recording.wake) wake()
    if (this.started !== undefined) await this.run(Scope.close(await this.started, Exit.void))
  }
}

// ---- Server-Sent Events ----

type Cursor = {
  next(): Promise<IteratorResult<readonly [number, SessionEvent], undefined>>
  return(): Promise<void>
}

const sseHeaders = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no"
} as const

/** Errors inside events (a violation, an abort's cause) as plain objects with their message. */
const plain = (_key: string, value: unknown) => (value instanceof Error ? { ...value, message: value.message } : value)

const frame = ([id, event]: readonly [number, SessionEvent]) =>
  `id: ${id}\nevent: ${event._tag}\ndata: ${JSON.stringify(event, plain)}\n\n`

const heartbeat = ": keep-alive\n\n"

const sseResponse = (cursor: Cursor): Response => {
  const encoder = new TextEncoder()
  let timer: ReturnType<typeof setInterval> | undefined
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => controller.enqueue(encoder.encode(heartbeat)), heartbeatMillis)
      timer.unref?.()
      void (async () => {
        try {
          for (let next = await cursor.next(); !next.done; next = await cursor.next()) {
            controller.enqueue(encoder.encode(frame(next.value)))
          }
          controller.close()
        } catch (error) {
          controller.error(error)
        } finally {
          clearInterval(timer)
        }
      })()
    },
    cancel: () => {
      clearInterval(timer)
      return cursor.return()
    }
  })
  return new Response(body, { status: 200, headers: sseHeaders })
}

const notFound = (error: SessionNotFound): Response =>
  Response.json({ error: error.message }, { status: 404, headers: { "cache-control": "no-cache" } })

const writeNotFound = (res: NodeResponse, error: SessionNotFound): void => {
  res.writeHead(404, { "content-type": "application/json", "cache-control": "no-cache" })
  res.write(JSON.stringify({ error: error.message }))
  res.end()
}

const writeSse = async (cursor: Cursor, res: NodeResponse): Promise<void> => {
  let gone = false
  let resume: (() => void) | undefined
  const onClose = () => {
    gone = true
    resume?.()
    void cursor.return()
  }
  res.once("close", onClose)
  const timer = setInterval(() => res.write(heartbeat), heartbeatMillis)
  timer.unref?.()
  try {
    if (!res.headersSent) res.writeHead(200, sseHeaders)
    for (let next = await cursor.next(); !next.done && !gone; next = await cursor.next()) {
      if (!res.write(frame(next.value)) && !gone) {
        await new Promise<void>((resolve) => {
          resume = resolve
          res.once("drain", resolve)
        })
        res.off("drain", resume!)
      }
    }
  } finally {
    clearInterval(timer)
    res.off("close", onClose)
    if (!gone) res.end()
  }
}
