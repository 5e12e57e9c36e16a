/**
 * Statements and wall time of the storage's write batches that store a backlog of N durable messages (what a
 * runner does when the cluster brings it the stored messages of the shards it took over): N `Durable.tell`s to
 * 50 durable actors, queued behind one held batch and released together. Counts, per transaction, the
 * statements it ran (every `effect/sql` statement span under its `sql.transaction` span) and its wall time.
 * The actors' handlers wait until every tell is acknowledged, so the store's batches are measured alone; then
 * the handling's batches (each message marked handled, with its actor's state) until every state is stored.
 * Run: `pnpm exec node bench/probes/inbox-batch.ts [N...]` (default 500 2000 6000), on SQLite and, when the
 * embedded server is installed, PostgreSQL.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Behavior, Durable, Protocol, Storage } from "@troupe/runtime"
import { Deferred, Effect, Fiber, Layer, Option, Schema, Tracer } from "effect"
import { SqlClient } from "effect/sql"
import * as Postgres from "../../packages/runtime/test/durable/postgres.ts"

const Note = Protocol.make("Note", { Record: { n: Schema.Number } })
const RECIPIENTS = 50

/** A tracer that keeps every span. */
const recording = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const millis = (span: Tracer.NativeSpan) =>
  span.status._tag === "Ended" ? Number(span.status.endTime - span.status.startTime) / 1e6 : Number.NaN

const measure = async (layer: Layer.Layer<Storage.Storage, Storage.StorageError>, n: number) => {
  const { spans, tracer } = recording()
  const program = Effect.gen(function* () {
    const gate = yield* Deferred.make<void>()
    const behavior = (i: number) =>
      Durable.persistent(
        Behavior.make(Note, { initial: 0, receive: { Record: (s) => Effect.as(Deferred.await(gate), s + 1) } }),
        { id: `note-${i}`, state: Schema.Number }
      )
    const refs = yield* Effect.forEach(
      Array.from({ length: RECIPIENTS }, (_, i) => i),
      (i) => ActorSystem.spawn(behavior(i), { name: `note-${i}` })
    )
    const { writer } = Storage.internal(yield* Storage.Storage)
    const opened = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const held = yield* Effect.forkChild(
      writer.run(() => Effect.andThen(Deferred.succeed(opened, undefined), Deferred.await(release)))
    )
    yield* Deferred.await(opened)
    const tells = yield* Effect.forkChild(
      Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        (i) => Durable.tell(refs[i % RECIPIENTS]!, Note.Record({ n: i })),
        { concurrency: "unbounded", discard: true }
      )
    )
    // every tell is queued behind the held batch (each waits in the writer's queue)
    yield* Effect.sleep("200 millis")
    const from = spans.length
    const started = Date.now()
    yield* Deferred.succeed(release, undefined)
    yield* Fiber.join(held)
    yield* Fiber.join(tells)
    const wall = Date.now() - started
    const to = spans.length
    // then the handling: each message marked handled, with its actor's state, in the batches that follow
    const handling = Date.now()
    yield* Deferred.succeed(gate, undefined)
    const storage = yield* Storage.Storage
    const stored = Effect.map(
      Effect.forEach(refs, (_, i) => storage.state(`note-${i}`)),
      (states) => states.reduce((sum, s) => sum + (Option.isSome(s) ? Number(s.value.state) : 0), 0)
    )
    while ((yield* stored) < n) yield* Effect.sleep("20 millis")
    yield* storage.flush
    return { from, to, wall, handled: Date.now() - handling, end: spans.length }
  })
  const { from, to, wall, handled, end } = await Effect.runPromise(
    program.pipe(
      Effect.provide(ActorSystem.layer()),
      Effect.provide(layer.pipe(Layer.provide(Layer.succeed(Tracer.Tracer, tracer)))),
      Effect.provide(Layer.succeed(Tracer.Tracer, tracer))
    )
  )
  return {
    store: { wall, batches: batches(spans.slice(from, to)) },
    handle: { wall: handled, batches: batches(spans.slice(to, end)) }
  }
}

/** The write batches (transactions) among `window`'s spans: the statements each ran, and its wall time. */
const batches = (window: ReadonlyArray<Tracer.NativeSpan>): Array<Batch> => {
  const children = new Map<string, number>()
  for (const s of window) {
    if (s.name !== "sql.transaction" && Option.isSome(s.parent))
      children.set(s.parent.value.spanId, (children.get(s.parent.value.spanId) ?? 0) + 1)
  }
  return window
    .filter((s) => s.name === "sql.transaction")
    .map((tx) => ({ statements: children.get(tx.spanId) ?? 0, millis: millis(tx) }))
}

interface Batch {
  readonly statements: number
  readonly millis: number
}

const line = (name: string, n: number, what: string, wall: number, written: ReadonlyArray<Batch>) => {
  const statements = written.reduce((sum, b) => sum + b.statements, 0)
  console.log(
    `${name} N=${n} ${what}: ${written.length} batches, ${statements} statements (${(statements / n).toFixed(3)} a message), ` +
      `largest batch ${Math.max(...written.map((b) => b.statements))} statements, longest ${Math.max(...written.map((b) => b.millis)).toFixed(1)} ms, ` +
      `done after ${wall} ms (load ${loadavg()[0]!.toFixed(1)})`
  )
}

const report = async (name: string, layerFor: () => Promise<Layer.Layer<Storage.Storage, Storage.StorageError>>) => {
  for (const n of sizes) {
    const { store, handle } = await measure(await layerFor(), n)
    line(name, n, "stored", store.wall, store.batches)
    line(name, n, "handled", handle.wall, handle.batches)
  }
}

const sizes = process.argv.slice(2).map(Number)
if (sizes.length === 0) sizes.push(500, 2000, 6000)

const dir = mkdtempSync(join(tmpdir(), "troupe-inbox-batch-"))
let files = 0
try {
  await report("sqlite", async () => Storage.layerSqlite({ filename: join(dir, `db-${++files}.sqlite`) }))
  if (Postgres.unavailable !== undefined) console.log(`postgres not measured: ${Postgres.unavailable}`)
  else {
    const server = await Postgres.start()
    let dbs = 0
    try {
      await report("postgres", async () => {
        const name = `p${++dbs}`
        await Effect.runPromise(
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* sql.unsafe(`CREATE DATABASE ${name}`)
          }).pipe(Effect.provide(Storage.postgresClient({ url: server.url, maxConnections: 1 })))
        )
        return Storage.layerPostgres({ url: server.url.replace(/\/troupe$/, `/${name}`) })
      })
    } finally {
      await server.stop()
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
