/**
 * The sharded actor of test/cluster/ClusterRefDeadline.test.ts: `Ping` is answered at once, and well after its
 * answer was written to the client's socket (200 ms later, on an idle runner) the runner creates a marker file, which
 * the client, its event loop blocked, can look for synchronously. `Hang` is never answered.
 */
import { writeFileSync } from "node:fs"
import { Behavior, Protocol, Sharded } from "@troupe/runtime"
import { Effect, Schema } from "effect"

export const Marked = Protocol.make("Marked", {
  Ping: Protocol.request({ marker: Schema.String }, { success: Schema.String }),
  Hang: Protocol.request({}, { success: Schema.Void })
})

const marked = Behavior.make(Marked, {
  initial: undefined,
  receive: {
    Ping: (state, { marker }) =>
      Effect.sync(() => {
        setTimeout(() => writeFileSync(marker, "replied"), 200)
        return { state, reply: "pong" }
      }),
    Hang: () => Effect.never
  }
})

/** Not persisted: a request goes from the client to the runner and its reply back on the runner's socket. */
export const Markeds = Sharded.make("Marked", { behavior: () => marked, buckets: 4 })
