/**
 * The three backend examples (Express, Fastify, plain node:http), each a real server in a child process with
 * one agent per conversation: the routes answer as documented, conversations keep their own history, a bad
 * body gets a 400, and under concurrent load (many conversations at once) no request fails. Ctrl-C stops
 * each with exit code 0. Speed under load is measured by `pnpm bench backends`, not here.
 */
import { afterAll, describe, expect, it, vi } from "vitest"
import { backends, load, startBackend } from "./support/backends.ts"
import { stopAll } from "./support/child.ts"

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000 })

describe("backend examples", () => {
  for (const backend of backends) {
    it.concurrent(`${backend}: one agent per conversation, under concurrent load without errors`, async () => {
      const { child, base } = await startBackend(backend)
      const request = async (method: string, path: string, body?: string) => {
        const response = await fetch(`${base}${path}`, {
          method,
          ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } })
        })
        return [response.status, response.status === 204 ? null : await response.json()] as const
      }
      const say = (id: string, prompt: string) =>
        request("POST", `/conversations/${id}/messages`, JSON.stringify({ prompt }))

      expect(await say("alice", "Hello")).toEqual([200, { answer: 'Message 1: you said "Hello".' }])
      expect(await say("alice", "Again")).toEqual([200, { answer: 'Message 2: you said "Again".' }])
      expect(await say("bob", "Hi")).toEqual([200, { answer: 'Message 1: you said "Hi".' }])
      const [status, transcript] = await request("GET", "/conversations/alice")
      expect(status).toBe(200)
      expect((transcript as { messages: ReadonlyArray<{ _tag: string; text: string }> }).messages).toEqual([
        { _tag: "User", text: "Hello" },
        { _tag: "Assistant", text: 'Message 1: you said "Hello".' },
        { _tag: "User", text: "Again" },
        { _tag: "Assistant", text: 'Message 2: you said "Again".' }
      ])
      expect((await request("POST", "/conversations/alice/messages", "{not json"))[0]).toBe(400)
      expect((await request("POST", "/conversations/alice/messages", "{}"))[0]).toBe(400)
      expect(await request("DELETE", "/conversations/alice")).toEqual([204, null])
      expect((await request("GET", "/conversations/alice"))[0]).toBe(404)
      expect(await say("alice", "Back")).toEqual([200, { answer: 'Message 1: you said "Back".' }])

      // a fixed amount of work, not requests per second (that is `pnpm bench backends`): 200 messages from 16 clients
      // at once over 40 conversations, each answered 200 however long a loaded machine takes (a minute at most)
      const loaded = await load(base, { connections: 16, amount: 200, conversations: 40, timeoutSeconds: 60 })
      expect(loaded.requests).toBe(200)
      expect({ errors: loaded.errors, timeouts: loaded.timeouts, non2xx: loaded.non2xx }).toEqual({
        errors: 0,
        timeouts: 0,
        non2xx: 0
      })

      child.process.kill("SIGINT")
      const exit = await child.exited()
      expect(exit.code, exit.stderr).toBe(0)
      expect(exit.stdout).toContain("stopped")
    })
  }
})
