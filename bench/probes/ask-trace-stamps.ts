/**
 * The stamps of bench/probes/ask-trace.ts (`TRACE=1`, with `ask-trace-stamps.patch` applied): each process's steps,
 * and the round trip cut in four across both processes. Read from `/tmp/ask-trace-<role>.json`, which each side
 * writes as it ends (`ask-trace-child.ts`).
 */
import { readFileSync } from "node:fs"

export /**
 * The stamps of the last run of `name` (TRACE=1), step by step: each pair of consecutive stamps, how often it
 * occurred and its p50/p25/p10 in µs (the low percentiles move with the code under load, the median with the load).
 */
const steps = (name: string) => {
  let stamps: { ids: Array<number>; times: Array<number> }
  try {
    stamps = JSON.parse(readFileSync(`/tmp/ask-trace-${name}.json`, "utf8"))
  } catch {
    return
  }
  const { ids, times } = stamps
  const pairs = new Map<string, Array<number>>()
  for (let i = 1; i < ids.length; i++) {
    const key = `${ids[i - 1]}->${ids[i]}`
    const list = pairs.get(key) ?? []
    list.push((times[i]! - times[i - 1]!) / 1000)
    pairs.set(key, list)
  }
  console.log(`== ${name} (${ids.length} stamps)`)
  for (const [key, list] of [...pairs].filter(([, l]) => l.length > ids.length / 40)) {
    list.sort((a, b) => a - b)
    const at = (f: number) => list[Math.floor(list.length * f)]!.toFixed(2).padStart(7)
    console.log(`${key.padEnd(8)} ${String(list.length).padStart(6)} p50 ${at(0.5)} p25 ${at(0.25)} p10 ${at(0.1)}`)
  }
}

/**
 * The last run of `kind`'s round trip across both processes, from their stamps: each client write (16) to the
 * server's next data callback (19), to its next write, to the client's next data callback, to its next write.
 */
export const acrossProcesses = (kind: string) => {
  let client: { ids: Array<number>; times: Array<number> }
  let server: { ids: Array<number>; times: Array<number> }
  try {
    client = JSON.parse(readFileSync(`/tmp/ask-trace-${kind}-client.json`, "utf8"))
    server = JSON.parse(readFileSync(`/tmp/ask-trace-${kind}-server.json`, "utf8"))
  } catch {
    return
  }
  const of = (s: { ids: Array<number>; times: Array<number> }, id: number) => s.times.filter((_, i) => s.ids[i] === id)
  const [clientWrites, clientData, serverWrites, serverData] = [
    of(client, 16),
    of(client, 19),
    of(server, 16),
    of(server, 19)
  ]
  /** The first time in `sorted` at or after `t`. */
  const next = (sorted: Array<number>, t: number) => {
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (sorted[mid]! < t) lo = mid + 1
      else hi = mid
    }
    return sorted[lo]
  }
  const legs: Array<Array<number>> = [[], [], [], []]
  for (const start of clientWrites.slice(100, -100)) {
    const a = next(serverData, start)
    const b = a === undefined ? undefined : next(serverWrites, a)
    const c = b === undefined ? undefined : next(clientData, b)
    const d = c === undefined ? undefined : next(clientWrites, c)
    if (d === undefined) break
    legs[0]!.push(a! - start)
    legs[1]!.push(b! - a!)
    legs[2]!.push(c! - b!)
    legs[3]!.push(d - c!)
  }
  console.log(`== ${kind} across both processes (µs, p10/p25/p50)`)
  const names = [
    "client write -> server data",
    "server data -> server write",
    "server write -> client data",
    "client data -> client write"
  ]
  legs.forEach((list, i) => {
    list.sort((x, y) => x - y)
    const at = (f: number) => (list[Math.floor(list.length * f)]! / 1000).toFixed(2).padStart(7)
    console.log(`${names[i]!.padEnd(30)} ${at(0.1)} ${at(0.25)} ${at(0.5)}`)
  })
}
