/**
 * The order in which vitest starts the test files: longest first, so that no long file starts last and makes
 * the run's tail while the other worker is idle.
 *
 * vitest's own order is by each file's last duration in its cache (node_modules/.vite), and on a fresh clone
 * (CI) by file size, which puts short files with long tests (the chaos and CLI files) at the end. The files of
 * the isolated project come first, those that share workers (`isolate: false`) after them, in one block. In each,
 * files that failed last time still come first, as in vitest; then the files listed in `seconds` below, by their
 * seconds; then the others by their duration in the cache (a run of one file or one test rewrites it), or by
 * size.
 */
import { stat } from "node:fs/promises"
import { relative } from "node:path"
import { BaseSequencer, type TestSpecification } from "vitest/node"

/**
 * The heaviest files' wall time in seconds in one whole run (a fresh-clone `.ci/run` of ff471ef, 2026-12-07, 2
 * cores; the files whose default size `TROUPE_LONG` cut and packed-install, whose npm install varies, estimated):
 * only their order matters. Keep a file here when it takes more than a few seconds; a file missing from the list starts
 * after these (unless vitest's cache knows better).
 */
export const seconds: Readonly<Record<string, number>> = {
  // (cli.test.ts, 55 s, split in four by command family: its share each, measured alone at load 33 and scaled)
  "test/cli-usage.test.ts": 16,
  "test/cli-protocol.test.ts": 16,
  "test/cli-node.test.ts": 13,
  "test/cli-module-load.test.ts": 11,
  "test/durable-node-name.test.ts": 12,
  "test/remote-id-rotation-flood.test.ts": 20,
  "test/durable-node-name-fenced.test.ts": 10,
  "test/readme.test.ts": 12,
  "test/durable-session-chaos.test.ts": 30,
  "test/packed-install.test.ts": 30,
  "packages/runtime/test/durable/Entity.test.ts": 7,
  "test/durable-examples.test.ts": 21,
  "test/readme-star.test.ts": 16,
  "packages/runtime/test/durable/StorageBatches.test.ts": 12,
  "test/peer-trust.test.ts": 18,
  "test/examples.test.ts": 13,
  "test/cli-bad-input.test.ts": 15,
  "test/peer-trust-access.test.ts": 9,
  "test/durable-agent-chaos.test.ts": 13,
  "test/inspector-nodes.test.ts": 13,
  "test/remote-false-down.test.ts": 8,
  "test/node-sigstop.test.ts": 12,
  "test/peer-trust-tls.test.ts": 12,
  "test/inspector-browser.test.ts": 11,
  "test/node-stall-handshake.test.ts": 6,
  "test/transport-chaos.test.ts": 9,
  "packages/transport/test/Links.test.ts": 8,
  "test/durable-chaos.test.ts": 10,
  "test/remote-wide-sender.test.ts": 5,
  "test/remote-chaos.test.ts": 6,
  "test/remote-event-overflow.test.ts": 9,
  "test/remote-gossip-flood.test.ts": 5,
  "test/remote-gossip-address-flood.test.ts": 12,
  "test/remote-pause-id-flood.test.ts": 12,
  "test/remote-join-flood.test.ts": 9,
  "test/session-play.test.ts": 9,
  "packages/runtime/test/cluster/Sharded.test.ts": 9,
  "test/node-stall.test.ts": 8,
  "test/remote-cuts-sessions.test.ts": 5,
  "test/remote-log-flood.test.ts": 8,
  "test/remote-peer-tables.test.ts": 8,
  "test/backends.test.ts": 7,
  "packages/runtime/test/cluster/ShardedSessionResume.test.ts": 7,
  "test/remote-park-peers.test.ts": 6,
  "packages/llm/test/mcp.test.ts": 6,
  "packages/runtime/test/cluster/ShardedSessionReach.test.ts": 6,
  "packages/runtime/test/durable/Durable.test.ts": 6,
  "packages/runtime/test/durable/DurableSession.test.ts": 6,
  "packages/runtime/test/durable/DurableSessionLinks.test.ts": 6,
  "packages/runtime/test/durable/StorageRows.test.ts": 6,
  "test/peer-trust-resources.test.ts": 5,
  "test/remote-fast-down.test.ts": 5,
  "test/remote-heap.test.ts": 5,
  "packages/transport/test/Handshake.test.ts": 5,
  "packages/runtime/test/cluster/ShardedSession.test.ts": 7
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
    // The files that share workers (`isolate: false`) run as one block after the isolated ones: vitest hands a
    // worker on to the next file only when that file shares workers too (else the worker is stopped and the next
    // shared file pays a Node start and its imports again), so shared files mixed among isolated ones lost most of
    // what sharing saves (fresh-clone CI of 45f440f: 63 shared files, most of them started in a new worker).
    const shared = (file: TestSpecification) => (file.project.config.isolate === false ? 1 : 0)
    return [...files].sort((a, b) => shared(a) - shared(b) || order(a, b))
  }
}
