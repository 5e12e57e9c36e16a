/**
 * The callee of test/remote-deadline-io.test.ts: `Ping` is answered at once, and once the answer is on the
 * socket (after the turn that wrote it) the callee creates a marker file, which the caller, its event loop
 * blocked, can look for synchronously. `Hang` is never answered.
 */
import { writeFileSync } from "node:fs"
import { Behavior, Protocol } from "@troupe/runtime"
import { Effect, Schema } from "effect"

export const Marked = Protocol.make("Marked", {
  Ping: Protocol.request({ marker: Schema.String }, { success: Schema.String }),
  Hang: Protocol.request({}, { success: Schema.Void })
})

export const marked = Behavior.make(Marked, {
  initial: undefined,
  receive: {
    Ping: (state, { marker }) =>
      Effect.sync(() => {
        // the reply is written in this turn (at once on an idle link, or in its microtask): the marker a turn after
        setImmediate(() => setImmediate(() => writeFileSync(marker, "replied")))
        return { state, reply: "pong" }
      }),
    Hang: () => Effect.never
  }
})

/** The nodes' shared secret. */
export const secret = "the deadline tests' shared secret, long enough"
