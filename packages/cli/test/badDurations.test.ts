/**
 * A node's durations that are not durations (from plain JavaScript or an agents module): each is the node's typed
 * error naming the option, not a defect. `peerTimeout` of `TroupeNode.run` is `InvalidPeer`; an agent's
 * `shutdownTimeout` is `AgentNotStarted`; the hook's `awaitNode` with such a `timeout` fails the hook (`MainFailed`).
 */
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TroupeNode } from "../src/index.ts"

const agents = join(import.meta.dirname, "fixtures", "badDurations.ts")
const node = (options: Partial<TroupeNode.Options>) =>
  Effect.flip(Effect.scoped(TroupeNode.run({ agents, peers: [], insecureNoAuth: true, ...options })))

describe("a node's durations that are not durations", () => {
  it.live("peerTimeout is InvalidPeer naming it", () =>
    Effect.gen(function* () {
      const error = yield* node({ peers: ["ws://127.0.0.1:9"], peerTimeout: "1 min0" as never })
      assert.strictEqual(error._tag, "InvalidPeer")
      assert.include(error.message, 'peerTimeout is "1 min0"')
      assert.include(error.message, '"30 seconds"')
    })
  )

  it.live("the hook's awaitNode timeout fails the hook (MainFailed) naming it", () =>
    Effect.gen(function* () {
      const error = yield* node({})
      assert.strictEqual(error._tag, "MainFailed")
      assert.include(error.message, 'timeout is "5 sec0"')
    })
  )

  it.live("an agent's shutdownTimeout is AgentNotStarted naming it", () =>
    Effect.gen(function* () {
      const error = yield* node({ agents: join(import.meta.dirname, "fixtures", "badShutdown.ts") })
      assert.strictEqual(error._tag, "AgentNotStarted")
      assert.include(error.message, 'shutdownTimeout is "1 sec0"')
    })
  )
})
