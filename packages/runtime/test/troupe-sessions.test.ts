/**
 * The Promise API's sessions: sessions of Promise refs and their results, session events as an async iterable
 * and as Server-Sent Events over a real HTTP server, shutdown with a session in flight, and the system's events.
 * (Refs, services and agents by id: `troupe.test.ts`.)
 */
import * as Http from "node:http"
import { Choreography, Session, type SessionEvent, type SystemEvent, Troupe } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import { counter } from "./fixtures.ts"

const Ping = Choreography.makeUnsafe("Ping", ["Client", "Server"], ($) => [
  $.message("Client", "Server", "ping", Schema.Number),
  $.message("Server", "Client", "pong", Schema.Number)
])

const client = Session.role(Ping, "Client", (ep) =>
  Effect.gen(function* () {
    const pong = yield* (yield* ep.send("Server", "ping", 20)).receive()
    yield* pong.next.close()
    return pong.payload
  })
)

/** A server that answers once `gate` resolves. */
const server = (gate: Promise<void> = Promise.resolve()) =>
  Session.role(Ping, "Server", (ep) =>
    Effect.gen(function* () {
      const ping = yield* ep.receive()
      yield* Effect.promise(() => gate)
      yield* (yield* ping.next.send("Client", "pong", ping.payload + 1)).close()
      return "served"
    })
  )

/** A Ping session whose server answers once `open` is called (never, if it is not). */
const heldSession = async (troupe: Troupe.Troupe, id?: string) => {
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  const session = await troupe.startSession(Ping, {
    ...(id === undefined ? {} : { id }),
    roles: { Client: await troupe.spawn(client), Server: await troupe.spawn(server(gate)) }
  })
  return { session, open }
}

const collect = async <A>(iterable: AsyncIterable<A>): Promise<Array<A>> => {
  const all: Array<A> = []
  for await (const item of iterable) all.push(item)
  return all
}

/** Parses a `text/event-stream` body into its events. */
const parseSse = (text: string) =>
  text
    .split("\n\n")
    .filter((block) => block.trim() !== "" && !block.startsWith(":"))
    .map((block) => {
      const field = (name: string) =>
        block
          .split("\n")
          .find((line) => line.startsWith(`${name}: `))
          ?.slice(name.length + 2)
      return { id: field("id"), event: field("event"), data: JSON.parse(field("data") ?? "null") }
    })

describe("Troupe: sessions", () => {
  it("runs a session of Promise refs to its typed results", async () => {
    const troupe = await Troupe.start()
    const done = await troupe.runSession(Ping, {
      roles: { Client: await troupe.spawn(client), Server: await troupe.spawn(server()) },
      stepTimeout: "10 seconds"
    })
    expect(done.results).toEqual({ Client: 21, Server: "served" })
    expectTypeOf(done.results.Client).toEqualTypeOf<number>()
    expect(done.trace.filter((event) => event._tag === "Sent").map((event) => event.label)).toEqual(["ping", "pong"])
    await troupe.shutdown()
  })

  it("records a session's events from its start: iterated during and after it, and after a given id", async () => {
    const troupe = await Troupe.start()
    const { session, open } = await heldSession(troupe, "ping-1")
    expect(session.id).toBe("ping-1")
    const during = collect(troupe.sessionEvents("ping-1"))
    open()
    expect((await session.result).results.Client).toBe(21)
    const tags = (await during).map((event) => event._tag)
    expect(tags[0]).toBe("SessionStarted")
    expect(tags.at(-1)).toBe("SessionEnded")
    expect(tags.filter((tag) => tag === "SessionStep")).toHaveLength(4) // each message sent and received
    // a late reader gets the whole session again, or what follows the id it last saw
    expect((await collect(troupe.sessionEvents("ping-1"))).map((e) => e._tag)).toEqual(tags)
    expect((await collect(troupe.sessionEvents("ping-1", { lastEventId: "4" }))).map((e) => e._tag)).toEqual(
      tags.slice(4)
    )
    await troupe.shutdown()
  })

  it("serves a session's events as Server-Sent Events to a real HTTP client, from the start and after Last-Event-ID", async () => {
    const troupe = await Troupe.start()
    const { session, open } = await heldSession(troupe)
    const http = Http.createServer((req, res) => {
      const id = new URL(req.url ?? "/", "http://x").pathname.split("/")[2] ?? ""
      void troupe.sessionEvents(id, { lastEventId: req.headers["last-event-id"] as string | undefined }).writeTo(res)
    })
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
    const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`
    const response = await fetch(`${base}/sessions/${session.id}/events`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
    open() // the session goes on while the client is connected
    const events = parseSse(await response.text())
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => String(i + 1)))
    expect(events[0]).toMatchObject({ event: "SessionStarted", data: { _tag: "SessionStarted", protocol: "Ping" } })
    expect(events.at(-1)).toMatchObject({ event: "SessionEnded", data: { outcome: "completed" } })
    expect(events).toContainEqual(
      expect.objectContaining({
        event: "SessionStep",
        data: expect.objectContaining({ role: "Server", label: "pong" })
      })
    )
    const resumed = await fetch(`${base}/sessions/${session.id}/events`, { headers: { "last-event-id": "3" } })
    expect(parseSse(await resumed.text()).map((e) => e.id)).toEqual(events.slice(3).map((e) => e.id))
    const unknown = await fetch(`${base}/sessions/nope/events`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ error: expect.stringContaining("No session nope here") })
    await new Promise((resolve) => http.close(resolve))
    await troupe.shutdown()
  })

  it("gives a fetch-style Response, and a 404 for an unknown session", async () => {
    const troupe = await Troupe.start()
    const done = await troupe.runSession(Ping, {
      id: "ping-2",
      roles: { Client: await troupe.spawn(client), Server: await troupe.spawn(server()) }
    })
    expect(done.session).toBe("ping-2")
    const response = troupe.sessionEvents("ping-2").response()
    expect(response.headers.get("cache-control")).toBe("no-cache")
    const events = parseSse(await response.text())
    expect(events.map((e) => e.event)).toEqual([
      "SessionStarted",
      ...events.slice(1, -1).map(() => "SessionStep"),
      "SessionEnded"
    ])
    expect(troupe.sessionEvents("nope").response().status).toBe(404)
    await expect(collect(troupe.sessionEvents("nope"))).rejects.toMatchObject({ _tag: "SessionNotFound" })
    await troupe.shutdown()
  })

  it("stops writing when the client goes away, and the session goes on", async () => {
    const troupe = await Troupe.start()
    const { session, open } = await heldSession(troupe)
    let served!: Promise<void>
    const http = Http.createServer((_, res) => {
      served = troupe.sessionEvents(session.id).writeTo(res)
    })
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
    const aborted = new AbortController()
    const response = await fetch(`http://127.0.0.1:${(http.address() as { port: number }).port}/`, {
      signal: aborted.signal
    })
    const reader = response.body!.getReader()
    await reader.read() // the first event arrived
    aborted.abort()
    await served // resolves once the client is gone, though the session has not ended
    open()
    expect((await session.result).results.Server).toBe("served")
    await new Promise((resolve) => http.close(resolve))
    await troupe.shutdown()
  })

  it("an aborted session rejects its result with SessionAborted; shutdown ends a running session", async () => {
    const troupe = await Troupe.start()
    const { session: first } = await heldSession(troupe)
    await first.abort("the user left")
    const error = await first.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Session.SessionAborted)
    expect(error).toMatchObject({ cause: { _tag: "SessionCancelled", reason: "the user left" } })
    const ended = (await collect(troupe.sessionEvents(first.id))).at(-1) as SessionEvent.SessionEnded
    expect(ended).toMatchObject({ _tag: "SessionEnded", outcome: "aborted" })

    const { session: second } = await heldSession(troupe)
    const events = collect(troupe.sessionEvents(second.id))
    await troupe.shutdown()
    await expect(second.result).rejects.toMatchObject({
      _tag: "SessionAborted",
      cause: { _tag: "SessionCancelled", reason: "the troupe shut down" }
    })
    expect((await events).at(-1)?._tag).toBe("SessionEnded")
  })
})

describe("Troupe: events", () => {
  it("iterates the system's events until return, and ends them at shutdown", async () => {
    const troupe = await Troupe.start()
    const seen: Array<SystemEvent.SystemEvent> = []
    const first = (async () => {
      for await (const event of troupe.events()) {
        seen.push(event)
        if (event._tag === "Spawned") return
      }
    })()
    const all = collect(troupe.events()) // both iterators see every event from their call on
    await troupe.spawn(counter(), { name: "watched" })
    await first
    expect(seen.at(-1)).toMatchObject({ _tag: "Spawned", path: "/user/watched" })
    await troupe.shutdown()
    expect((await all).map((e) => e._tag)).toContain("Spawned")
  })
})
