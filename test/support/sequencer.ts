/**
 * The order in which vitest starts the test files: longest first, so that no long file starts last and makes
 * the run's tail while the other worker is idle.
 *
 * vitest's own order is by each file's last duration in its cache (node_modules/.vite), and on a fresh clone
 * (CI) by file size, which puts short files with long tests (the chaos and CLI files) at the end. Files that
 * failed last time still come first, as in vitest; then the files listed in `seconds` below, by their
 * seconds; then the others by their duration in the cache (a run of one file or one test rewrites it), or by
 * size.
 */
import { stat } from "node:fs/promises"
import { relative } from "node:path"
import { BaseSequencer, type TestSpecification } from "vitest/node"

/**
 * The heaviest files' wall time in seconds in one whole run (2026-12-06, a loaded 2-core host): only their
 * order matters. Keep a file here when it takes more than a few seconds; a file missing from the list starts
 * after these (unless vitest's cache knows better).
 */
export const seconds: Readonly<Record<string, number>> = {
  "test/durable-session-chaos.test.ts": 208,
  "test/cli.test.ts": 120,
  "test/durable-chaos.test.ts": 114,
  "test/readme.test.ts": 111,
  "test/examples.test.ts": 99,
  "test/remote-chaos.test.ts": 65,
  "test/durable-agent-chaos.test.ts": 54,
  "test/readme-star.test.ts": 54,
  "packages/runtime/test/durable/Entity.test.ts": 41,
  "test/packed-install.test.ts": 36,
  "test/session-play.test.ts": 31,
  "test/peer-trust-tls.test.ts": 29,
  "test/durable-examples.test.ts": 28,
  "test/peer-trust-access.test.ts": 26,
  "test/remote-heap.test.ts": 25,
  "test/inspector-nodes.test.ts": 24,
  "test/transport-chaos.test.ts": 24,
  "test/inspector-browser.test.ts": 23,
  "packages/runtime/test/cluster/Sharded.test.ts": 21,
  "test/cli-game.test.ts": 18,
  "test/peer-trust.test.ts": 17,
  "packages/llm/test/mcpServer.test.ts": 15,
  "packages/runtime/test/cluster/ShardedSession.test.ts": 13,
  "test/peer-trust-resources.test.ts": 12,
  "test/backends.test.ts": 12,
  "test/membership-chaos.test.ts": 12,
  "packages/llm/test/mcp.test.ts": 12,
  "packages/runtime/test/durable/DurableSessionResend.test.ts": 12,
  "test/node-stall.test.ts": 11,
  "packages/runtime/test/cluster/ShardedSessionResume.test.ts": 11,
  "packages/runtime/test/durable/DurableSession.test.ts": 11
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const weight = new Map<TestSpecification, readonly [failed: number, seconds: number, bytes: number]>()
    await Promise.all(
      files.map(async (file) => {
        const cached = this.ctx.cache.getTestSpecificationResult(file)
        const known = seconds[relative(file.project.config.root, file.moduleId).replaceAll("\\", "/")]
        const bytes = cached === undefined && known === undefined ? (await stat(file.moduleId)).size : 0
        weight.set(file, [cached?.failed ? 1 : 0, known ?? (cached === undefined ? 0 : cached.duration / 1000), bytes])
      })
    )
    const order = (a: TestSpecification, b: TestSpecification) => {
      const [fa, sa, ba] = weight.get(a)!
      const [fb, sb, bb] = weight.get(b)!
      return fb - fa || sb - sa || bb - ba
    }
    return [...files].sort(order)
  }
}
