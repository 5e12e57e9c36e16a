/**
 * A durable session survives kill -9. A shop packs an order of ten items and has a warehouse ship each one;
 * packing is a side effect (a `once`: it must happen once per item). The program runs the session in a child
 * process, kills that process with SIGKILL in the middle, and starts it again on the same SQLite file: the
 * session goes on from its log, and every item is packed once.
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples durable-session`.
 */
import { spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Choreography, DurableSession, type Endpoint, Session, Storage } from "@troupe/runtime"
import { Effect, Layer, Option, Schema } from "effect"

const Order = Choreography.makeUnsafe("Order", ["Shop", "Warehouse"], ($) => [
  $.loop("Items", [
    $.choice("Shop", {
      ship: [
        $.message("Shop", "Warehouse", "ship", Schema.Number),
        $.message("Warehouse", "Shop", "shipped", Schema.Number),
        $.continue("Items")
      ],
      done: [$.message("Shop", "Warehouse", "done", Schema.Void)]
    })
  ])
])
type Untyped = Endpoint.UntypedEndpoint<Session.Failure>

/** The shop packs each item once (a `once` effect: its result is in the log), then has it shipped. */
const shop = Session.role(Order, "Shop", (typed, ctx) =>
  Effect.gen(function* () {
    let ep = typed as unknown as Untyped
    for (let item = 1; item <= 10; item++) {
      yield* ctx.once(
        Effect.andThen(
          Effect.sleep("40 millis"),
          Effect.sync(() => console.log(`packed item ${item}`))
        )
      )
      ep = (yield* (yield* ep.send("Warehouse", "ship", item)).receive()).next
    }
    yield* ep.send("Warehouse", "done")
    return "10 items packed"
  })
)

/** The warehouse ships what it is sent. */
const warehouse = Session.role(Order, "Warehouse", (typed) =>
  Effect.gen(function* () {
    let ep = typed as unknown as Untyped
    let shipped = 0
    for (;;) {
      const message = yield* ep.receive()
      if (message.label === "done") return `${shipped} items shipped`
      shipped++
      ep = yield* message.next.send("Shop", "shipped", message.payload as number)
    }
  })
)

const data = join(tmpdir(), `troupe-durable-session-${process.argv[3] ?? process.pid}.db`)

/** The node: its participants, then the session (started, or recovered from the storage after a restart). */
const node = Effect.gen(function* () {
  const Shop = yield* ActorSystem.spawn(shop, { name: "shop" })
  const Warehouse = yield* ActorSystem.spawn(warehouse, { name: "warehouse" })
  const [recovered] = yield* DurableSession.recover([Order])
  if (recovered !== undefined) console.log(`recovered session ${recovered.id} from its log`)
  const handle =
    recovered ??
    (yield* DurableSession.start(Order, { roles: { Shop, Warehouse }, id: "order-1", deadline: "10 seconds" }))
  const done = yield* handle.await
  console.log(`completed: ${done.results.Shop}, ${done.results.Warehouse}`)
}).pipe(
  Effect.provide(Layer.provideMerge(ActorSystem.layer({ name: "shop" }), Storage.layerSqlite({ filename: data })))
)

/**
 * Runs the node in a child process; with `killAfter`, kills it with SIGKILL while it packs the next item (a
 * `once` result is committed right after its effect: a kill in between, a few milliseconds, would pack an item
 * twice, which is why packing should be idempotent too; here the kill lands in the middle of the next step).
 */
const run = (killAfter?: number) =>
  new Promise<ReadonlyArray<string>>((resolve) => {
    const child = spawn(process.execPath, [import.meta.filename, "--node", String(process.pid)], { stdio: "pipe" })
    const lines: Array<string> = []
    let buffer = ""
    child.stdout.on("data", (chunk) => {
      buffer += String(chunk)
      for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
        lines.push(buffer.slice(0, i))
        buffer = buffer.slice(i + 1)
        if (killAfter !== undefined && lines.filter((l) => l.startsWith("packed")).length === killAfter) {
          setTimeout(() => child.kill("SIGKILL"), 20)
        }
      }
    })
    child.on("close", () => resolve(lines))
  })

if (process.argv[2] === "--node") {
  NodeRuntime.runMain(node)
} else {
  const first = await run(4)
  console.log(`run 1: ${first.join("; ")}; then kill -9`)
  const second = await run()
  console.log(`run 2: ${second.join("; ")}`)
  const packed = [...first, ...second].filter((l) => l.startsWith("packed"))
  console.log(`every item packed once: ${packed.length === 10 && new Set(packed).size === 10}`)
  const outcome = await Effect.runPromise(
    DurableSession.outcome("order-1").pipe(Effect.provide(Storage.layerSqlite({ filename: data })))
  )
  console.log(`stored outcome: ${Option.getOrUndefined(outcome)?._tag}`)
  for (const suffix of ["", "-wal", "-shm"]) rmSync(data + suffix, { force: true })
}
