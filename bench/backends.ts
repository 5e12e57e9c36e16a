/**
 * The backend examples under concurrent load: each example (Express, Fastify, plain node:http) runs in its own
 * process with one agent per conversation and a scripted model that answers at once, and autocannon sends
 * messages from 50 concurrent clients over 200 conversations for 10 s (after 2 s of warm-up). What is
 * measured is the path HTTP → Troupe → the conversation's agent → the model → the reply, not a model's speed.
 */
import { backends, load, startBackend } from "../test/support/backends.ts"
import type { Case, Figure } from "./support.ts"

const connections = 50
const conversations = 200

export const cases: ReadonlyArray<Case> = backends.map((backend) => ({
  name: backend,
  run: async (): Promise<ReadonlyArray<Figure>> => {
    const { child, base } = await startBackend(backend)
    try {
      await load(base, { connections, seconds: 2, conversations })
      const measured = await load(base, { connections, seconds: 10, conversations })
      const key = `backend_${backend.replace("-", "_")}`
      const detail = `${connections} clients, ${conversations} conversations, 10 s`
      return [
        { name: `${key}_req_per_s`, value: measured.perSecond, unit: "req/s", detail },
        { name: `${key}_p99_ms`, value: measured.p99Millis, unit: "ms", detail },
        {
          name: `${key}_errors`,
          value: measured.errors + measured.timeouts + measured.non2xx,
          goal: { atMost: 0 },
          detail: `of ${measured.requests} requests`
        }
      ]
    } finally {
      child.process.kill("SIGINT")
      await child.exit
    }
  }
}))
