/**
 * The durability examples run as their package scripts would run them, and as servers killed with SIGKILL and
 * started again on the same data.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freePort, run, start, stopAll, testEnv } from "./support/child.ts"

const examples = join(import.meta.dirname, "..", "packages", "examples")
const dir = mkdtempSync(join(tmpdir(), "troupe-durable-examples-"))

afterAll(() => {
  stopAll()
  rmSync(dir, { recursive: true, force: true })
})

describe("durable-agent: one durable agent per customer in a Node backend", () => {
  it("answers, and a request sent again is answered once", async () => {
    const exit = await run([join(examples, "src", "durable-agent.ts")], { cwd: examples })
    expect(exit.code, exit.stderr).toBe(0)
    const lines = exit.stdout.split("\n")
    expect(lines).toContain(
      'ada asks "Hello!" -> This is question 1 of our conversation. How can I help with your orders?'
    )
    expect(lines).toContain('ada asks "Where is order A-1?" -> Your order is shipped yesterday (question 2).')
    expect(lines).toContain('bob asks "Where is order B-2?" -> Your order is being packed (question 1).')
    expect(
      lines.filter((l) => l === 'ada asks "Where is order A-1?" -> Your order is shipped yesterday (question 2).')
    ).toHaveLength(2)
    expect(lines.find((l) => l.startsWith("ada's conversation:"))).toBe(
      `ada's conversation: ${JSON.stringify([
        "User: Hello!",
        "Assistant: This is question 1 of our conversation. How can I help with your orders?",
        "User: Where is order A-1?",
        "ToolCall: order_status",
        "ToolResult: order_status",
        "Assistant: Your order is shipped yesterday (question 2)."
      ])}`
    )
  }, 300_000)

  it("keeps the conversations of a server killed with SIGKILL", async () => {
    const port = await freePort()
    const env = { ...testEnv(), PORT: String(port), DATA: join(dir, "support.db") }
    const server = () => start([join(examples, "src", "durable-agent.ts"), "--serve"], { cwd: examples, env })
    const ask = async (customer: string, key: string, question: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/customers/${customer}/ask`, {
        method: "POST",
        headers: { "idempotency-key": key },
        body: JSON.stringify({ question })
      })
      return ((await response.json()) as { answer: string }).answer
    }
    const first = server()
    await first.line("listening on")
    expect(await ask("ada", "k1", "Hello!")).toContain("question 1")
    first.process.kill("SIGKILL")
    expect((await first.exited()).signal).toBe("SIGKILL")

    const second = server()
    await second.line("listening on")
    // the conversation survived the kill: this is ada's second question
    expect(await ask("ada", "k2", "Where is order A-1?")).toBe("Your order is shipped yesterday (question 2).")
    // the first request sent again (its answer was lost with the first process, say) is not asked twice
    expect(await ask("ada", "k1", "Hello!")).toContain("question 1")
    const conversation = await fetch(`http://127.0.0.1:${port}/customers/ada/conversation`)
    const { conversation: lines } = (await conversation.json()) as { conversation: ReadonlyArray<string> }
    expect(lines.filter((l) => l.startsWith("User:"))).toEqual(["User: Hello!", "User: Where is order A-1?"])
    second.process.kill("SIGINT")
    await second.exited()
  }, 300_000)
})

describe("durable-session: a session survives kill -9 of its process", () => {
  it("goes on from its log in a new process, and packs every item once", async () => {
    const exit = await run([join(examples, "src", "durable-session.ts")], { cwd: examples })
    expect(exit.code, exit.stderr).toBe(0)
    const lines = exit.stdout.split("\n")
    expect(lines.find((l) => l.startsWith("run 1:"))).toMatch(/^run 1: packed item 1; .*packed item 4; then kill -9$/)
    const second = lines.find((l) => l.startsWith("run 2:"))
    expect(second).toContain("recovered session order-1 from its log")
    expect(second).toContain("packed item 10")
    expect(second).toContain("completed: 10 items packed, 10 items shipped")
    expect(lines).toContain("every item packed once: true")
    expect(lines).toContain("stored outcome: Completed")
  }, 300_000)
})
