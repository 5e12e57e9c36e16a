/**
 * The backend examples (packages/examples/src/backends) as child processes, and concurrent load on them with
 * autocannon: many conversations at once, each message a POST that asks that conversation's agent.
 */
import { join } from "node:path"
import autocannon from "autocannon"
import { type Child, start, testEnv } from "./child.ts"

export const backends = ["express", "fastify", "node-http"] as const
export type Backend = (typeof backends)[number]

const examples = join(import.meta.dirname, "..", "..", "packages", "examples")

/** Starts a backend on a free port; resolves with it and its base URL once it listens. */
export const startBackend = async (backend: Backend): Promise<{ readonly child: Child; readonly base: string }> => {
  const child = start([join(examples, "src", "backends", `${backend}.ts`)], {
    cwd: examples,
    env: { ...testEnv(), PORT: "0" }
  })
  const base = /listening on (http:\/\/\S+)/.exec(await child.line("listening on"))![1]!
  return { child, base }
}

/** What a load run measured. */
export interface Load {
  readonly requests: number
  readonly perSecond: number
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
  readonly p50Millis: number
  readonly p99Millis: number
}

/**
 * Sends messages from `connections` concurrent clients, for `seconds` (a benchmark) or `amount` messages in all (a
 * test: the same work however loaded the machine is, each request allowed `timeoutSeconds`, 10 by default), spread
 * over `conversations` conversations (so agents are spawned and then reused), and reports errors and latencies.
 */
export const load = async (
  base: string,
  options: { readonly connections: number; readonly conversations: number; readonly timeoutSeconds?: number } & (
    | { readonly seconds: number }
    | { readonly amount: number }
  )
): Promise<Load> => {
  let sent = 0
  const result = await autocannon({
    url: base,
    connections: options.connections,
    ...("amount" in options ? { amount: options.amount } : { duration: options.seconds }),
    timeout: options.timeoutSeconds ?? 10,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => {
          const n = sent++
          return {
            ...request,
            path: `/conversations/c${n % options.conversations}/messages`,
            body: JSON.stringify({ prompt: `message ${n}` })
          }
        }
      }
    ]
  })
  return {
    requests: result.requests.total,
    perSecond: result.requests.average,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    p50Millis: result.latency.p50,
    p99Millis: result.latency.p99
  }
}
