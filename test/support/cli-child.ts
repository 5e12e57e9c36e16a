/**
 * The `troupe` command as a real child process, for the CLI's test files (`cli-*.test.ts`): the bin, the fixtures it
 * loads, and a shared secret. Each file calls `afterAll(stopAll)` (support/child.ts); its help and flag mistakes that
 * start no node run in the test's process instead (support/cli.ts).
 *
 * @example
 * const { code, stdout } = await troupe("protocol", "check", fixture("two-buyer.ts"))
 */
import { join } from "node:path"
import { run } from "./child.ts"

/** The repository's root, where the children run. */
export const root = join(import.meta.dirname, "..", "..")
/** The CLI's bin, run by Node as TypeScript. */
export const CLI = join(root, "packages", "cli", "src", "bin.ts")
/** A module of test/fixtures/cli. */
export const fixture = (name: string) => join(root, "test", "fixtures", "cli", name)
/** `troupe <args>` in a child process, to its exit. */
export const troupe = (...args: ReadonlyArray<string>) => run([CLI, ...args], { cwd: root })
/** The lines of a child's output, empty ones left out. */
export const lines = (text: string) => text.split("\n").filter((line) => line !== "")
/** The shared secret of the nodes the tests start. */
export const TOKEN = "a secret of sixteen characters or more"
