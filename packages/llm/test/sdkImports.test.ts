/**
 * What a process pays to import `@troupe/llm`: not the official SDKs, nor effect's MCP client, nor the PostgreSQL
 * driver (~0.2 s, loaded with the first PostgreSQL client or storage). `openai` and
 * `@anthropic-ai/sdk` are ~500 modules, ~0.5 s of CPU at each start, MCP's client and server ~0.15 s; they are
 * imported when a model over one is made, when a server is connected to. A child process (a fresh module registry)
 * imports the package by its name and says which of them Node had resolved at each step. It runs from source, as a
 * user's process does: the tests' bundle of the packages (`NODE_OPTIONS`, see test/support/bundle.ts) puts effect's
 * modules in chunks of its own making.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const fixture = fileURLToPath(new URL("fixtures/sdkImports.ts", import.meta.url))

/** Runs the fixture from source and reads its lines. */
const steps = Effect.callback<ReadonlyArray<{ readonly after: string; readonly loaded: ReadonlyArray<string> }>>(
  (resume) => {
    const child = execFile(
      process.execPath,
      [fixture],
      { cwd: fileURLToPath(new URL("..", import.meta.url)), env: { ...process.env, NODE_OPTIONS: "" } },
      (error, stdout, stderr) => {
        if (error !== null) resume(Effect.die(new Error(`the fixture failed: ${error.message}\n${stderr}`)))
        else
          resume(
            Effect.succeed(
              stdout
                .trim()
                .split("\n")
                .map((line) => JSON.parse(line))
            )
          )
      }
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  }
)

describe("importing @troupe/llm", () => {
  it.live(
    "loads neither SDK, the MCP client nor the PostgreSQL driver; each loads when first used",
    () =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* steps, [
          { after: "import", loaded: [] },
          { after: "OpenAi.make", loaded: ["openai"] },
          { after: "Anthropic.make", loaded: ["@anthropic-ai/sdk", "openai"] },
          { after: "Mcp.connect", loaded: ["@anthropic-ai/sdk", "effect/ai/McpClient", "openai"] },
          {
            after: "Storage.postgresClient",
            loaded: ["@anthropic-ai/sdk", "@effect/sql-pg", "effect/ai/McpClient", "openai"]
          }
        ])
      }),
    // only a hang fails: from source, the child is ~3 s of CPU, many times that in wall time on a loaded machine
    120_000
  )
})
