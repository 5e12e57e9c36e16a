/**
 * Payloads that cost much work per byte, under the frame limit, between two actor systems in their own processes
 * on WebSockets with the transport's default failure detector and heartbeats: a very wide object, many tiny keys,
 * deep nesting, long strings full of escapes, long arrays, many small objects, each of up to 49,000 JSON values
 * (under the default `maxEnvelopeValues`). Each arrives intact (its fingerprint), and neither node is declared down
 * by the other. A payload of more values (100,000 tiny keys; 400,000 of them, 3.6 MB, blocked a loaded receiver
 * 6.2 s and its peer declared it down) is refused at the sender, typed, naming the limit; the link goes on. The
 * longest time each node's event loop could not run, and when each step ended, are printed.
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

/** Each payload, the message type it goes in (its schema in the store's protocol), and the node that sends it. */
const CASES: ReadonlyArray<readonly [Shape, Kind, "a" | "b"]> = [
  ["tiny-keys", "record", "a"],
  ["wide", "unknown", "b"],
  ["deep", "json", "a"],
  ["escapes", "array", "b"],
  ["array", "array", "a"],
  ["mixed", "unknown", "b"]
]

const stallOf = (node: Node) =>
  Effect.flatMap(node.request({ cmd: "report" }), (event) =>
    event.event === "report" ? Effect.succeed(event.longestStallMs) : Effect.die(new Error("no report"))
  )

describe("payloads that cost much work per byte", () => {
  it.live(
    "arrive intact up to maxEnvelopeValues, a wider one is refused at the sender, and neither node is declared down",
    () =>
      Effect.gen(function* () {
        const started = Date.now()
        const [a, b] = yield* Effect.all([spawn("a"), spawn("b")], { concurrency: 2 })
        yield* a.request({ cmd: "connect", url: b.url })
        const logs = () => `--- a:\n${a.stderr().slice(-3000)}\n--- b:\n${b.stderr().slice(-3000)}`
        const phases: Array<string> = [`spawned ${Date.now() - started} ms`]
        // one at a time: each handled (its fingerprint asked of the receiver) before the next is sent, as a node that
        // answers is judged (back-to-back work of seconds on one node is a silence the detector may judge)
        for (const [shape, schema, sender] of CASES) {
          const [from, to] = sender === "a" ? [a, "b"] : [b, "a"]
          const seen = yield* from.request({ cmd: "put", to, shape, schema }).pipe(
            Effect.andThen(from.request({ cmd: "seen", to })),
            Effect.catch((error) => Effect.die(new Error(`${shape}/${schema} to ${to}: ${error.detail}\n${logs()}`)))
          )
          assert.strictEqual(
            seen.event === "seen" ? seen.seen[`${shape}/${schema}`] : seen.event,
            fingerprint(payloadOf(shape)),
            `${shape}/${schema}`
          )
          phases.push(`${shape} ${Date.now() - started} ms`)
        }
        // 100,000 values: refused where it is sent, typed, with what to do
        const refused = yield* Effect.flip(a.request({ cmd: "put", to: "b", shape: "too-wide", schema: "record" }))
        assert.match(refused.detail, /InvalidMessage/)
        assert.match(
          refused.detail,
          /100\d{3} JSON values exceed the limit of 50000 per envelope \(maxEnvelopeValues\)/
        )
        phases.push(`refused ${Date.now() - started} ms`)
        const downs = [...a.events, ...b.events].filter((e) => e.event === "peer-down")
        assert.deepStrictEqual(downs, [], logs())
        console.log(`longest stalls: a ${yield* stallOf(a)} ms, b ${yield* stallOf(b)} ms; ${phases.join(", ")}`)
      }),
    180_000
  )
})
