/**
 * `troupe session play`: a person plays a session role from a terminal, through the inspector of a node. Two
 * `troupe node` processes run a purchase whose approver is a person; a third process plays the approver: it
 * shows what the role received, offers only its legal moves (a wrong choice is refused), reads the payload
 * field by field, and ends with the session.
 */
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { freePort, start, stopAll } from "./support/child.ts"

const root = join(import.meta.dirname, "..")
const CLI = join(root, "packages", "cli", "src", "bin.ts")
const fixture = (name: string) => join(import.meta.dirname, "fixtures", "inspector", name)

afterAll(stopAll)
vi.setConfig({ testTimeout: 120_000 })

describe("troupe session play", () => {
  it("plays a role from a terminal: what it received, only its legal moves, the payload field by field", async () => {
    const [peerPort, alicePort, bobPort] = [await freePort(), await freePort(), await freePort()]
    const node = (name: string, inspect: number, extra: ReadonlyArray<string>) =>
      start(
        [
          CLI,
          "node",
          "--name",
          name,
          "--token",
          "a-test-secret-of-32-characters!!",
          "--agents",
          fixture(`${name}.ts`),
          "--inspect",
          String(inspect)
        ]
          .concat(["--inspect-token", "tok"])
          .concat(extra),
        { cwd: root }
      )
    const alice = node("alice", alicePort, ["--listen", String(peerPort)])
    const bob = node("bob", bobPort, ["--peer", `ws://127.0.0.1:${peerPort}`])
    await alice.line("ready:", 60_000)
    await bob.line("ready:", 60_000)

    // the player uses bob's inspector; the session is started on alice
    const player = start(
      [CLI, "session", "play", "purchase-1", "Approver", "--inspector", `http://127.0.0.1:${bobPort}/`, "--as", "Olga"],
      { cwd: root, env: { ...process.env, TROUPE_INSPECT_TOKEN: "tok", OPENAI_API_KEY: "" } }
    )
    alice.process.stdin!.write("purchase\n")
    await player.line("Playing Approver in session purchase-1 of Purchase", 60_000)
    await player.line(`  ← Buyer: request({"item":"desk lamp","price":120})`, 30_000)
    await player.line("Approver's move in session purchase-1 of Purchase")
    expect(await player.line("Your move:")).toBe(
      "  Your move: 1) Buyer!approve({ note: string })  2) Buyer!reject({ reason: string })"
    )
    player.process.stdin!.write("3\n")
    await player.line("choose 1 to 2 (only these moves are legal now)")
    player.process.stdin!.write("2\n")
    await player.line("  move> 2")
    player.process.stdin!.write("over budget this month\n")
    await player.line("  → Buyer: reject", 30_000)
    await player.line("Session purchase-1 completed", 30_000)
    expect((await player.exit).code).toBe(0)
    await alice.line("purchase-1 completed: null", 30_000)

    alice.process.kill("SIGINT")
    bob.process.kill("SIGINT")
    expect((await alice.exit).code).toBe(130)
    expect((await bob.exit).code).toBe(130)
  })
})
