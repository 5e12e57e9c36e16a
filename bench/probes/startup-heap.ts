/**
 * The heap a node starts with: imports the runtime and transport as bench/remote-child.ts does, makes an actor
 * system on a WebSocket transport, collects garbage and prints the heap used after each step (and, with
 * `SNAPSHOT=path`, writes a heap snapshot at the end). Needs `--expose-gc`.
 *
 *   pnpm exec node --expose-gc bench/probes/startup-heap.ts
 */
import * as V8 from "node:v8"

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with --expose-gc")
const used = () => {
  gc()
  gc()
  const h = process.memoryUsage()
  return `heap ${(h.heapUsed / 1e6).toFixed(1)} MB (total ${(h.heapTotal / 1e6).toFixed(1)}), external ${(h.external / 1e6).toFixed(1)} MB, arrayBuffers ${(h.arrayBuffers / 1e6).toFixed(1)} MB, rss ${(h.rss / 1e6).toFixed(0)} MB`
}
console.log(`start: ${used()}`)
const effect = await import("effect")
console.log(`effect: ${used()}`)
const transport = await import("@troupe/transport")
console.log(`@troupe/transport: ${used()}`)
const runtime = await import("@troupe/runtime")
console.log(`@troupe/runtime: ${used()}`)
const { Effect } = effect
const program = Effect.gen(function* () {
  const t = yield* transport.WebSocket.make({
    node: "probe",
    secret: "the benchmark's shared secret",
    listen: { port: 0, host: "127.0.0.1" }
  })
  yield* runtime.ActorSystem.make({ name: "probe" }).pipe(Effect.provideService(transport.Transport.Transport, t))
  console.log(`system: ${used()}`)
  if (process.env.SNAPSHOT !== undefined) V8.writeHeapSnapshot(process.env.SNAPSHOT)
})
await Effect.runPromise(Effect.scoped(program))
process.exit(0)
