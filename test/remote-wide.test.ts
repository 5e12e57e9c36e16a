/**
 * Payloads that cost much work per byte, under the frame limit, between two actor systems in their own processes
 * on WebSockets with the transport's default failure detector and heartbeats: a 200,000-key object (redteam8's: it
 * blocked the receiver's event loop 6 s at load ~20 and the peer declared it down), many tiny keys, deep nesting,
 * long strings full of escapes, long arrays, many small objects. Each arrives intact (its fingerprint), and neither
 * node is declared down by the other. The longest time each node's event loop could not run is printed.
 *
 * Not yet run by the suite (TROUPE_WIDE=1 runs it): the runtime's Schema work per key is gone (the codec checks such
 * payloads in one walk), but what stays (JSON.parse and JSON.stringify of a 400,000-key object, the transport's
 * JSON check, the actor's own fingerprint) is ~0.5 s of CPU per side, and at load 34 on 2 cores that blocked b's
 * event loop 6.2 s: a, on the default detector (3 s acceptable pause), declared it down (21:16, tiny-keys). What is
 * missing is a liveness rule for a peer busy with a frame this node sent it (see the wide9 report), or a limit on
 * a payload's values that the sender enforces.
 */
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "./support/cluster.ts"
import type { Command, Event, Kind, NodeSpec } from "./support/wide-node.ts"
import { fingerprint, payloadOf, type Shape } from "./support/wide-shapes.ts"

const SCRIPT = fileURLToPath(new URL("./support/wide-node.ts", import.meta.url))
type Node = Cluster.Child<Event, Command>

const spawn = (node: string) =>
  Cluster.spawn<Event, Command>({ node, secret: "a wide payload test secret" } satisfies NodeSpec, SCRIPT)

/** Each payload, and the message type it goes in (its schema in the store's protocol). */
const CASES: ReadonlyArray<readonly [Shape, Kind]> = [
  ["wide", "record"],
  ["tiny-keys", "record"],
  ["deep", "json"],
  ["escapes", "array"],
  ["array", "array"],
  ["mixed", "unknown"],
  ["wide", "unknown"]
]

const stallOf = (node: Node) =>
  Effect.flatMap(node.request({ cmd: "report" }), (event) =>
    event.event === "report" ? Effect.succeed(event.longestStallMs) : Effect.die(new Error("no report"))
  )

describe("payloads that cost much work per byte", () => {
  it.live.skipIf(process.env.TROUPE_WIDE !== "1")(
    "arrive intact, and neither node is declared down",
    () =>
      Effect.gen(function* () {
        const a = yield* spawn("a")
        const b = yield* spawn("b")
        yield* a.request({ cmd: "connect", url: b.url })
        const logs = () => `--- a:\n${a.stderr().slice(-3000)}\n--- b:\n${b.stderr().slice(-3000)}`
        for (const [shape, schema] of CASES) {
          for (const [from, to] of [
            [a, "b"],
            [b, "a"]
          ] as const) {
            yield* from
              .request({ cmd: "put", to, shape, schema })
              .pipe(
                Effect.catch((error) =>
                  Effect.die(new Error(`${shape}/${schema} to ${to}: ${error.detail}\n${logs()}`))
                )
              )
          }
        }
        const expected = Object.fromEntries(
          CASES.map(([shape, schema]) => [`${shape}/${schema}`, fingerprint(payloadOf(shape))])
        )
        for (const [from, to] of [
          [a, "b"],
          [b, "a"]
        ] as const) {
          const seen = yield* from.request({ cmd: "seen", to })
          assert.deepStrictEqual(seen.event === "seen" ? seen.seen : seen, expected)
        }
        const downs = [...a.events, ...b.events].filter((e) => e.event === "peer-down")
        assert.deepStrictEqual(downs, [], `${a.stderr().slice(-2000)}\n${b.stderr().slice(-2000)}`)
        console.log(`longest stalls: a ${yield* stallOf(a)} ms, b ${yield* stallOf(b)} ms`)
      }),
    300_000
  )
})
