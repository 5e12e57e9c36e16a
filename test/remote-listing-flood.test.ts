/**
 * A peer with the secret lists actors it makes up under a receptionist key (or topic) the policy lets it use: each
 * `directory add` for a new path was kept until the peer went down, so a peer could grow this node's memory without
 * bound (50,000 listings: +64 MB RSS, no warning). The node keeps at most `remoteAccess.maxListingsPerNode` entries per
 * peer node in its receptionist (and as many in its topics); past that a listing is refused with a warning, at most
 * one a second per peer (never one line per message). A node that lists more actors is let in by raising the bound.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Protocol, Receptionist } from "@troupe/runtime"
import { Effect, Logger, References, Schema } from "effect"
import { heapUsed } from "./support/heap.ts"
import * as PeerFlood from "./support/peer-flood.ts"

const SECRET = "a listing flood test secret"
const PER_FRAME = 500

const Echo = Protocol.make("Echo", { Ping: { text: Schema.String } })
const Echoes = Receptionist.key("echoes", Echo)

interface Flood {
  readonly heapGrowth: number
  readonly found: number
  readonly warnings: ReadonlyArray<string>
}

/** Listings the raw peer sends: `add` or `remove` of made-up actors numbered `from` up to (not including) `to`. */
type Step = readonly [op: "add" | "remove", from: number, to: number]

const made = (n: number) => ({ name: "echoes", protocol: "Echo", path: `/user/made-up-${n}-${"z".repeat(80)}` })

/** A target node; a raw peer joins it and sends the listings of `steps` under `echoes`, in frames of 500. */
const flood = (steps: ReadonlyArray<Step>, options: { readonly maxListingsPerNode?: number } = {}) =>
  Effect.gen(function* () {
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message, fiber }) => {
      if (logLevel !== "Warn") return
      const text = (message as ReadonlyArray<unknown>).join(" ")
      warnings.push(`${text} ${JSON.stringify(fiber.getRef(References.CurrentLogAnnotations))}`)
    })
    const { system, join } = yield* PeerFlood.floodTarget(SECRET, {
      system: { remoteAccess: { register: ["echoes"], ...options } },
      systemLoggers: [capture]
    })
    const peer = yield* join("lister")
    const before = yield* heapUsed
    for (const [op, from, to] of steps) {
      yield* Effect.promise(() =>
        peer.send(
          to - from,
          (n) => ({
            kind: "system",
            to: { node: "target", path: "/system" },
            payload: { type: "directory", directory: "receptionist", op, entry: made(from + n) }
          }),
          PER_FRAME
        )
      )
    }
    const after = yield* heapUsed
    const found = (yield* Receptionist.find(Echoes).pipe(Effect.provideService(ActorSystem.ActorSystem, system))).length
    return { heapGrowth: after - before, found, warnings } satisfies Flood
  }).pipe(Effect.scoped)

const refusals = (result: Flood) => result.warnings.filter((line) => line.includes("maxListingsPerNode"))

describe("a peer lists actors it makes up under a key it may use", () => {
  it.live(
    "the node keeps at most maxListingsPerNode of them, with a warning a second (was: all kept, ~64 MB for 50,000)",
    () =>
      Effect.gen(function* () {
        const result = yield* flood([["add", 0, 50_000]])
        assert.isBelow(result.heapGrowth, 8 * 1024 * 1024, `the heap grew by ${result.heapGrowth} bytes`)
        assert.strictEqual(result.found, 10_000)
        assert.isAtLeast(refusals(result).length, 1, result.warnings.join("\n"))
        assert.isAtMost(refusals(result).length, 5, refusals(result).join("\n"))
      }),
    120_000
  )

  it.live(
    "entries that leave make room; one listed again is not counted twice",
    () =>
      Effect.gen(function* () {
        const result = yield* flood(
          [
            ["add", 0, 1_000],
            ["add", 0, 1_000],
            ["remove", 0, 400],
            ["add", 1_000, 1_600]
          ],
          { maxListingsPerNode: 1_100 }
        )
        assert.strictEqual(result.found, 1_100)
        assert.strictEqual(refusals(result).length, 1, result.warnings.join("\n"))
      }),
    120_000
  )

  it.live(
    "a node that lists more actors is let in by raising the bound",
    () =>
      Effect.gen(function* () {
        const result = yield* flood([["add", 0, 12_000]], { maxListingsPerNode: 20_000 })
        assert.strictEqual(result.found, 12_000)
        assert.deepStrictEqual(result.warnings, [])
      }),
    120_000
  )

  it.effect("a bound that is not a whole number of at least 1 is refused when the system is made", () =>
    Effect.gen(function* () {
      for (const bad of [0, 1.5, Number.NaN]) {
        const error = yield* Effect.flip(ActorSystem.make({ remoteAccess: { maxListingsPerNode: bad } }))
        assert.strictEqual(error._tag, "InvalidSystemOptions")
        assert.include(error.message, "remoteAccess.maxListingsPerNode")
      }
    }).pipe(Effect.scoped)
  )
})
