/**
 * Transport baselines: raw `ws` against the Troupe transport, each between two processes on
 * loopback. Every function starts its own child processes (`transport-baseline-child.ts`), returns
 * plain numbers and leaves nothing running. No side effects on import.
 *
 * What "raw" means, so the ratios are honest:
 * - raw throughput sends the very bytes the transport sends for the same envelopes (the same
 *   envelope JSON in the same `data` frames) with the same batching (written at once on an idle
 *   socket, otherwise framed from everything queued in a microtask and written while the socket has
 *   at most 64 KiB queued), and
 *   the receiver `JSON.parse`s every frame and counts the envelopes; there is no validation, no
 *   sequence numbers, no acks, no resend buffer and no Effect.
 * - raw echo: the client sends one envelope in one frame, the server parses it and answers with one
 *   envelope in one frame; the client measures the round trip.
 * - transport throughput: `send` in a loop on one node (with backpressure), `receive` on the other.
 * - transport echo: an `ask` envelope from one node, a `reply` envelope sent by the other node's
 *   consumer, measured from before `send` to the reply coming out of `receive`.
 */
import { spawn } from "node:child_process"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"

export interface Throughput {
  readonly messages: number
  readonly messagesPerSecond: number
  readonly bytesPerSecond: number
}

export interface Latency {
  readonly samples: number
  readonly p50Micros: number
  readonly p99Micros: number
}

const CHILD = fileURLToPath(new URL("./transport-baseline-child.ts", import.meta.url))

/**
 * Runs a server role and a client role in two processes of `script`; resolves with the `result` line of
 * `measuredBy`.
 */
export const pair = <A>(
  server: Record<string, unknown>,
  client: Record<string, unknown>,
  measuredBy: "server" | "client",
  script: string = CHILD
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const children: Array<ReturnType<typeof spawn>> = []
    const finish = (error: Error | undefined, value?: A) => {
      const kill = () => {
        for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
      }
      // when profiling, give the children time to exit by themselves (the profile is written at exit)
      if (process.env.TROUPE_BENCH_CHILD_FLAGS === undefined) kill()
      else setTimeout(kill, 6000)
      if (error) reject(error)
      else resolve(value as A)
    }
    const start = (role: Record<string, unknown>, onLine: (line: Record<string, unknown>) => void) => {
      const flags = process.env.TROUPE_BENCH_CHILD_FLAGS?.split(" ").filter((f) => f !== "") ?? []
      const child = spawn(process.execPath, [...flags, script, JSON.stringify(role)], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      children.push(child)
      let stderr = ""
      child.stderr!.on("data", (chunk) => {
        stderr += String(chunk)
      })
      child.on("exit", (code) => {
        if (code !== 0 && code !== null) finish(new Error(`${String(role.role)} exited with ${code}: ${stderr}`))
      })
      Readline.createInterface({ input: child.stdout! }).on("line", (line) => onLine(JSON.parse(line)))
    }
    start(server, (line) => {
      if (typeof line.ready === "string") {
        start({ ...client, url: line.ready }, (clientLine) => {
          if (measuredBy === "client" && clientLine.result) finish(undefined, clientLine.result as A)
        })
      }
      if (measuredBy === "server" && line.result) finish(undefined, line.result as A)
    })
  })

/**
 * Options of the throughput baselines. `payload` is the JSON payload of every envelope (default
 * `{ _tag: "Tick", n }`): pass what the runtime puts on the wire to compare with the same bytes.
 */
export interface ThroughputOptions {
  readonly messages?: number
  readonly payload?: unknown
}

/**
 * Options of the latency baselines: `samples` measured after `warmup` round trips (default 500); `payload` as in
 * {@link ThroughputOptions}.
 */
export interface LatencyOptions {
  readonly samples?: number
  readonly warmup?: number
  readonly payload?: unknown
}

const throughput = (kind: "raw" | "transport", options: ThroughputOptions) => {
  const role = { messages: options.messages ?? 500_000, payload: options.payload }
  return pair<Throughput>({ ...role, role: `${kind}-receiver` }, { ...role, role: `${kind}-sender` }, "server")
}

const latency = (kind: "raw" | "transport", options: LatencyOptions) =>
  pair<Latency>(
    { role: `${kind}-echo-server`, payload: options.payload },
    { role: `${kind}-echo-client`, samples: options.samples ?? 5000, warmup: options.warmup, payload: options.payload },
    "client"
  )

/** Raw `ws` throughput: the transport's bytes and batching, no transport. */
export const rawWsThroughput = (options: ThroughputOptions = {}): Promise<Throughput> => throughput("raw", options)

/** Raw `ws` echo round trip of one envelope in one frame each way. */
export const rawWsEchoLatency = (options: LatencyOptions = {}): Promise<Latency> => latency("raw", options)

/** Transport envelope throughput between two WebSocket nodes. */
export const transportThroughput = (options: ThroughputOptions = {}): Promise<Throughput> =>
  throughput("transport", options)

/** Transport envelope round trip: an ask, answered with a reply by the other node's consumer. */
export const transportEchoLatency = (options: LatencyOptions = {}): Promise<Latency> => latency("transport", options)
