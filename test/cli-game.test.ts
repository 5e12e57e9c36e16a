/**
 * `troupe protocol game` and `troupe protocol simulate`, run as real child processes on a game module (the
 * market for lemons): the tree, Gambit's .efg, level-k policies, a seeded simulation; a module without a game
 * gets one line and exit code 1.
 */
import { join } from "node:path"
import { Game, Lemons } from "@troupe/choreography"
import { GameModule } from "@troupe/cli"
import { Effect } from "effect"
import { afterAll, describe, expect, it, vi } from "vitest"
import { run, stopAll } from "./support/child.ts"

const root = join(import.meta.dirname, "..")
const CLI = join(root, "packages", "cli", "src", "bin.ts")
const lemons = join(import.meta.dirname, "fixtures", "cli", "lemons.ts")
const troupe = (...args: ReadonlyArray<string>) => run([CLI, ...args], { cwd: root })

afterAll(stopAll)
// each wait for a child has its own hang deadline (see support/child.ts); this bounds a test that hangs elsewhere
vi.setConfig({ testTimeout: 300_000 })

describe("troupe protocol game | simulate", () => {
  it.concurrent("game: the tree, and with --levels each role's level-k policies (with the module's anchors)", async () => {
    const { code, stdout } = await troupe("protocol", "game", lemons, "--levels", "1", "--rationality", "1")
    expect(code).toBe(0)
    expect(stdout).toContain("game Lemons: players Seller, Buyer, nature World; 31 nodes, 6 information sets")
    expect(stdout).toContain("Buyer chooses (information set 1: Buyer after price(1))")
    expect(stdout).toContain("Buyer, level 0 (λ = 1):")
    expect(stdout).toContain("  Buyer after price(3): accept 0.82, reject 0.18")
    expect(stdout).toContain("Seller, level 1 (λ = 1):")
  })

  it("game --efg and simulate, in process: Gambit's format as Game.toEfg writes it; seeded runs", async () => {
    const loaded = await Effect.runPromise(GameModule.load(lemons))
    expect(GameModule.describe(loaded, { efg: true, rationality: 1 })).toBe(Game.toEfg(Lemons.game).trimEnd())
    const simulate = () =>
      Effect.runPromise(GameModule.simulate(loaded, { runs: 2000, level: 1, rationality: 1, seed: 3 }))
    const report = await simulate()
    expect(report).toContain("Lemons: 2000 runs, every role at level 1 (λ = 1), seed 3")
    expect(report).toMatch(/ {2}mean payoffs: Seller -?\d+\.\d{3}, Buyer -?\d+\.\d{3}/)
    expect(report).toMatch(/ {4} *\d+\.\d % {2}quality\(\d\) price\(\d\) /)
    expect(await simulate()).toBe(report)
  })

  it.concurrent("a module without a game is one line and exit 1", async () => {
    const none = await troupe("protocol", "simulate", join(import.meta.dirname, "fixtures", "cli", "two-buyer.ts"))
    expect(none.code).toBe(1)
    expect(none.stderr).toContain("exports no game: export one made with Game.make or Game.makeUnsafe")
  })
})
