/**
 * What sessions allocate that outlives a scavenge (and so is copied, promoted and marked): V8's sampling heap
 * profiler, keeping only samples that survived minor collections, while `sessions_10k_vs_1`'s sessions run 10 k at
 * once (`many`) or one at a time (`one`); prints the allocation sites by bytes per session, with their callers.
 * Run: `pnpm exec node bench/probes/sessions-survivors.ts many|one` (ROUNDS=2, TOP=40, DEPTH=3, INTERVAL=2048; ALL=1: every allocation, not only survivors).
 */
import { Session as Inspector } from "node:inspector/promises"
import { ActorSystem } from "@troupe/runtime"
import { Effect } from "effect"
import { probe } from "../sessions.ts"

interface Node {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly selfSize: number
  readonly children: ReadonlyArray<Node>
}

const many = process.argv[2] !== "one"
const rounds = Number(process.env.ROUNDS ?? 2)
const top = Number(process.env.TOP ?? 40)
const depth = Number(process.env.DEPTH ?? 3)
const inspector = new Inspector()
inspector.connect()
const bindings = await Effect.runPromise(
  Effect.provide(
    Effect.gen(function* () {
      const bindings = yield* probe.roles
      yield* probe.sessions(bindings, 2000, many ? 2000 : 1)
      yield* Effect.promise(() =>
        inspector.post("HeapProfiler.startSampling", {
          samplingInterval: Number(process.env.INTERVAL ?? 2048),
          includeObjectsCollectedByMinorGC: process.env.ALL !== undefined,
          includeObjectsCollectedByMajorGC: true
        })
      )
      for (let round = 0; round < rounds; round++) yield* probe.sessions(bindings, 10_000, many ? 10_000 : 1)
      return bindings
    }),
    ActorSystem.layer({ name: "probe" })
  )
)
void bindings
const { profile } = (await inspector.post("HeapProfiler.stopSampling")) as { profile: { head: Node } }
const sessions = rounds * 10_000
const short = (f: Node["callFrame"]) =>
  `${f.functionName || "(anon)"} ${f.url.replace(/^.*\/(packages|node_modules)\//, "$1/").replace(/^file:\/\//, "")}:${f.lineNumber + 1}`
const sites = new Map<string, number>()
let total = 0
const walk = (node: Node, stack: Array<string>) => {
  const here = [short(node.callFrame), ...stack]
  if (node.selfSize > 0) {
    total += node.selfSize
    const key = here.slice(0, depth).join("  <  ")
    sites.set(key, (sites.get(key) ?? 0) + node.selfSize)
  }
  for (const child of node.children) walk(child, here)
}
walk(profile.head, [])
console.log(
  `survived a scavenge: ${(total / sessions).toFixed(0)} B per session (${many ? "10 k at once" : "one at a time"})`
)
for (const [key, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${(bytes / sessions).toFixed(0).padStart(6)} B  ${key}`)
