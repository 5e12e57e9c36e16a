/**
 * Where a live session's bytes go: heap snapshots before and after holding N sessions of the `sessions`
 * bench's shape, diffed by (node type, constructor name). Run: `pnpm exec node --expose-gc bench/probes/session-heap.ts`.
 */
import { readFileSync } from "node:fs"
import { writeHeapSnapshot } from "node:v8"
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"

const Ask = Choreography.makeUnsafe("Ask", ["C", "S"], ($) => [
  $.message("C", "S", "ask", Schema.Number),
  $.message("S", "C", "answer", Schema.Number)
])
let release: () => void = () => {}
let opened: Promise<void> | undefined
let arrived = 0
/** MIDWAY=k: a snapshot is taken when the k-th role passes the gate (sessions run N at once, gate open). */
const midway = Number(process.env.MIDWAY ?? 0)
const pass = Effect.suspend(() => {
  arrived++
  if (arrived === midway) writeHeapSnapshot("/tmp/sessprobe/after.heapsnapshot")
  const o = opened
  return o === undefined ? Effect.void : Effect.promise(() => o)
})
const client = Session.role(Ask, "C", (ep) =>
  Effect.gen(function* () {
    yield* pass
    const answer = yield* (yield* ep.send("S", "ask", 1)).receive()
    yield* answer.next.close()
    return answer.payload
  })
)
const server = Session.role(Ask, "S", (ep) =>
  Effect.gen(function* () {
    yield* pass
    const ask = yield* ep.receive()
    yield* (yield* ask.next.send("C", "answer", ask.payload + 1)).close()
  })
)

type Row = { count: number; size: number }
/** Aggregates the nodes of `file` that are not in `old` (node ids are stable within a process). */
const summarise = (file: string, old?: Set<number>): { ids: Set<number>; rows: Map<string, Row> } => {
  const snap = JSON.parse(readFileSync(file, "utf8"))
  const meta = snap.snapshot.meta
  const fields: Array<string> = meta.node_fields
  const types: Array<string> = meta.node_types[0]
  const efields: Array<string> = meta.edge_fields
  const etypes: Array<string> = meta.edge_types[0]
  const n = fields.length
  const en = efields.length
  const iType = fields.indexOf("type")
  const iName = fields.indexOf("name")
  const iSize = fields.indexOf("self_size")
  const iId = fields.indexOf("id")
  const iEdges = fields.indexOf("edge_count")
  const nodes: Array<number> = snap.nodes
  const edges: Array<number> = snap.edges
  const ids = new Set<number>()
  const rows = new Map<string, Row>()
  const edgeStart: Array<number> = []
  for (let i = 0, e = 0; i < nodes.length; i += n) {
    edgeStart.push(e)
    e += nodes[i + iEdges]! * en
  }
  const nameOfEdge = (e: number) => {
    const t = etypes[edges[e]!]!
    const v = edges[e + 1]!
    return t === "element" || t === "hidden" ? String(v) : String(snap.strings[v])
  }
  const varsOf = (node: number, wanted: string) => {
    const out: Array<string> = []
    const start = edgeStart[node / n]!
    for (let k = 0; k < nodes[node + iEdges]!; k++) {
      const e = start + k * en
      if (etypes[edges[e]!] === wanted) out.push(nameOfEdge(e))
    }
    return out
  }
  const contextOf = (node: number) => {
    const start = edgeStart[node / n]!
    for (let k = 0; k < nodes[node + iEdges]!; k++) {
      const e = start + k * en
      if (etypes[edges[e]!] === "internal" && snap.strings[edges[e + 1]!] === "context") return edges[e + 2]!
    }
    return -1
  }
  // the first retainer of each node: "<retainer's name>.<edge name>"
  const iTo = efields.indexOf("to_node")
  const retainer = new Map<number, string>()
  const retainerOf = new Map<number, number>()
  if (old !== undefined)
    for (let i = 0; i < nodes.length; i += n) {
      const start = edgeStart[i / n]!
      const owner = `${types[nodes[i + iType]!]}:${String(snap.strings[nodes[i + iName]!]).slice(0, 24)}`
      for (let k = 0; k < nodes[i + iEdges]!; k++) {
        const e = start + k * en
        const to = edges[e + iTo]!
        const t = etypes[edges[e]!]
        if (t === "weak" || retainer.has(to)) continue
        retainer.set(to, `${owner}.${nameOfEdge(e)}`)
        retainerOf.set(to, i)
      }
    }
  for (let i = 0; i < nodes.length; i += n) {
    const id = nodes[i + iId]!
    ids.add(id)
    if (old === undefined || old.has(id)) continue
    const type = types[nodes[i + iType]!]!
    let name: string = snap.strings[nodes[i + iName]!]
    if (type === "string" || type === "concatenated string" || type === "sliced string" || type === "number") name = ""
    if (type === "object" && name === "system / Context") name += ` {${varsOf(i, "context").slice(0, 8).join(",")}}`
    if (type === "object" && name === "Object") name += ` {${varsOf(i, "property").slice(0, 8).join(",")}}`
    if (type === "closure") {
      const c = contextOf(i)
      name += ` in {${c < 0 ? "" : varsOf(c, "context").slice(0, 6).join(",")}}`
    }
    if (
      type === "array" ||
      type === "hidden" ||
      name === "Array" ||
      name === "Map" ||
      name === "Set" ||
      type === "object shape" ||
      type === "number" ||
      type.includes("string") ||
      name.startsWith("Object")
    )
      name += ` [${nodes[i + iEdges]}] <- ${retainer.get(i) ?? "?"} <- ${retainer.get(retainerOf.get(i) ?? -1) ?? "?"}`
    const key = `${type}:${name.slice(0, 110)}`
    const row = rows.get(key) ?? { count: 0, size: 0 }
    row.count++
    row.size += nodes[i + iSize]!
    rows.set(key, row)
  }
  return { ids, rows }
}

const N = Number(process.env.N ?? 2000)
const program = Effect.gen(function* () {
  const C = yield* ActorSystem.spawn(client)
  const S = yield* ActorSystem.spawn(server)
  yield* Effect.forEach(Array.from({ length: 100 }), () => Session.run(Ask, { roles: { C, S } }), {
    concurrency: "unbounded",
    discard: true
  })
  opened = new Promise((resolve) => {
    release = resolve
  })
  ;(globalThis as { gc?: () => void }).gc?.()
  const before = writeHeapSnapshot("/tmp/sessprobe/before.heapsnapshot")
  const m0 = process.memoryUsage().heapUsed
  const ended = process.env.ENDED !== undefined || midway > 0
  if (midway > 0) {
    // what N sessions in flight at once hold, at the moment the MIDWAY-th role begins
    release()
    opened = undefined
    arrived = 0
    yield* Effect.forEach(Array.from({ length: N }), () => Session.run(Ask, { roles: { C, S } }), {
      concurrency: "unbounded", // (not N: see `sessions` in bench/sessions.ts)
      discard: true
    })
  } else if (ended) {
    // what N sessions run one after another leave behind (until some timer of theirs fires)
    release()
    opened = undefined
    yield* Effect.forEach(Array.from({ length: N }), () => Session.run(Ask, { roles: { C, S } }), { discard: true })
  }
  const handles = ended
    ? []
    : yield* Effect.forEach(Array.from({ length: N }), () => Session.start(Ask, { roles: { C, S } }))
  while (!ended && arrived < 2 * N) yield* Effect.sleep(1)
  yield* Effect.sleep(10)
  ;(globalThis as { gc?: () => void }).gc?.()
  ;(globalThis as { gc?: () => void }).gc?.()
  const m1 = process.memoryUsage().heapUsed
  const after =
    midway > 0 ? "/tmp/sessprobe/after.heapsnapshot" : writeHeapSnapshot("/tmp/sessprobe/after.heapsnapshot")
  console.log(`heapUsed per session: ${((m1 - m0) / N).toFixed(0)} B`)
  const { ids } = summarise(before)
  const rows = [...summarise(after, ids).rows].map(([k, r]) => [k, r.count, r.size] as const)
  rows.sort((x, y) => y[2] - x[2])
  let total = 0
  for (const [, , s] of rows) total += s
  console.log(`snapshot diff per session: ${(total / N).toFixed(0)} B`)
  for (const [k, c, s] of rows.slice(0, Number(process.env.TOP ?? 45)))
    console.log(`${(s / N).toFixed(0).padStart(6)} B  ${(c / N).toFixed(2).padStart(6)}/session  ${k}`)
  release()
  yield* Effect.forEach(handles, (h) => h.await, { discard: true })
})
await Effect.runPromise(Effect.scoped(Effect.provide(program, ActorSystem.layer({ name: "probe" }))))
