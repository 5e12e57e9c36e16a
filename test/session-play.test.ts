/**
 * `troupe session play`: a person plays a session role from a terminal, through the inspector of a node. Two
 * `troupe node` processes run a purchase whose approver is a person; a third process plays the approver: it
 * shows what the role received, offers only its legal moves (a wrong choice is refused), reads the payload
 * field by field, and ends with the session.
 */
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { start, stopAll } from "./support/child.ts"
import { inspectToken, startNodes } from "./support/inspected-nodes.ts"

const root = join(import.meta.dirname, "..")
const CLI = join(root, "packages", "cli", "src", "bin.ts")

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000 })

describe("troupe session play", () => {
  it("plays a role from a terminal: what it received, only its legal moves, the payload field by field", async () => {
    const { alice, bob, bobInspector } = await startNodes()

    // the player uses bob's inspector; the session is started on alice
    const player = start(
      [CLI, "session", "play", "purchase-1", "Approver", "--inspector", bobInspector, "--as", "Olga"],
      { cwd: root, env: { ...process.env, TROUPE_INSPECT_TOKEN: inspectToken, OPENAI_API_KEY: "" } }
    )
    alice.process.stdin!.write("purchase\n")
    await player.line("Playing Approver in session purchase-1 of Purchase")
    await player.line(`  ← Buyer: request({"item":"desk lamp","price":120})`)
    await player.line("Approver's move in session purchase-1 of Purchase")
    expect(await player.line("Your move:")).toBe(
      "  Your move: 1) Buyer!approve({ note: string })  2) Buyer!reject({ reason: string })"
    )
    player.process.stdin!.write("3\n")
    await player.line("choose 1 to 2 (only these moves are legal now)")
    player.process.stdin!.write("2\n")
    await player.line("  move> 2")
    player.process.stdin!.write("over budget this month\n")
    await player.line("  → Buyer: reject")
    await player.line("Session purchase-1 completed")
    expect((await player.exited()).code).toBe(0)
    await alice.line("purchase-1 completed: null")

    alice.process.kill("SIGINT")
    bob.process.kill("SIGINT")
    expect((await alice.exited()).code).toBe(0)
    expect((await bob.exited()).code).toBe(0)
  })
})
