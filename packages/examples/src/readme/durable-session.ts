import { execFileSync } from "node:child_process"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Choreography, DurableSession, Session, Storage } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"

const Order = Choreography.makeUnsafe("Order", ["Shop", "Bank"], ($) => [
  $.message("Shop", "Bank", "charge", Schema.Number),
  $.message("Bank", "Shop", "receipt", Schema.String)
])
const shop = Session.role(Order, "Shop", (ep, ctx) =>
  Effect.gen(function* () {
    yield* ctx.once(Effect.sync(() => console.log("stock reserved"))) // its result is in the session's log
    const receipt = yield* (yield* ep.send("Bank", "charge", 30)).receive()
    return receipt.payload
  })
)
const bank = Session.role(Order, "Bank", (ep) =>
  Effect.gen(function* () {
    const charge = yield* ep.receive()
    if (process.argv[2] === "crash") process.kill(process.pid, "SIGKILL") // kill -9 in the middle of the session
    yield* charge.next.send("Shop", "receipt", `charged ${charge.payload}`)
  })
)

const data = join(tmpdir(), `troupe-readme-session-${process.argv[3] ?? process.pid}.db`)
const node = Effect.gen(function* () {
  const Shop = yield* ActorSystem.spawn(shop, { name: "shop" })
  const Bank = yield* ActorSystem.spawn(bank, { name: "bank" })
  // after a restart, the sessions this node was running go on from their log
  const [recovered] = yield* DurableSession.recover([Order])
  const handle = recovered ?? (yield* DurableSession.start(Order, { roles: { Shop, Bank }, id: "order-7" }))
  console.log((yield* handle.await).results.Shop)
}).pipe(Effect.provide(Layer.provideMerge(ActorSystem.layer(), Storage.layerSqlite({ filename: data }))))

if (process.argv[2] !== undefined) await Effect.runPromise(node)
else {
  const run = (how: string) => {
    try {
      return execFileSync(process.execPath, [import.meta.filename, how, String(process.pid)], { encoding: "utf8" })
    } catch (killed) {
      return `${(killed as { stdout: string }).stdout.trim()}, then kill -9`
    }
  }
  console.log(`first process: ${run("crash")}`)
  console.log(`second process: ${run("again").trim()}`)
  for (const file of [data, `${data}-wal`, `${data}-shm`]) rmSync(file, { force: true })
}
