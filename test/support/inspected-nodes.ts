/**
 * Two `troupe node` processes with their inspectors, for the inspector's tests: alice (the demo's team, and the
 * buyer and supplier of a purchase; its stdin starts sessions: `demo`, `purchase`) and bob (the purchase's
 * approver, a person), with the agents modules in test/fixtures/inspector.
 */
import { join } from "node:path"
import { type Child, freePort, start } from "./child.ts"

const root = join(import.meta.dirname, "..", "..")
const CLI = join(root, "packages", "cli", "src", "bin.ts")

/** The inspectors' token. */
export const inspectToken = "tok"

export interface Nodes {
  readonly alice: Child
  readonly bob: Child
  /** The inspectors' addresses, e.g. `http://127.0.0.1:4000/`. */
  readonly aliceInspector: string
  readonly bobInspector: string
  /** Starts bob again (after it was stopped or killed), on the same ports. */
  readonly restartBob: () => Child
}

/** Starts alice and bob (bob joins alice), each with its inspector (with a token unless `readOnly`), once both are ready. */
export const startNodes = async (options: { readonly readOnly?: boolean } = {}): Promise<Nodes> => {
  const [peerPort, alicePort, bobPort] = [await freePort(), await freePort(), await freePort()]
  const node = (name: string, inspect: number, extra: ReadonlyArray<string>) =>
    start(
      [CLI, "node", "--name", name, "--token", "a-test-secret-of-32-characters!!"]
        .concat(["--agents", join(root, "test", "fixtures", "inspector", `${name}.ts`), "--inspect", String(inspect)])
        .concat(options.readOnly ? [] : ["--inspect-token", inspectToken])
        .concat(extra),
      { cwd: root }
    )
  const bobArgs = ["--peer", `ws://127.0.0.1:${peerPort}`]
  const alice = node("alice", alicePort, ["--listen", String(peerPort)])
  const bob = node("bob", bobPort, bobArgs)
  await alice.line("ready:")
  await bob.line("ready:")
  return {
    alice,
    bob,
    aliceInspector: `http://127.0.0.1:${alicePort}/`,
    bobInspector: `http://127.0.0.1:${bobPort}/`,
    restartBob: () => node("bob", bobPort, bobArgs)
  }
}
