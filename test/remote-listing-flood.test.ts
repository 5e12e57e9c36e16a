/**
 * A peer with the secret lists actors it makes up under a receptionist key (or topic) the policy lets it use: each
 * `directory add` for a new path was kept until the peer went down, so a peer could grow this node's memory without
 * bound (50,000 listings: +64 MB RSS, no warning). The node keeps at most `remoteAccess.maxListingsPerNode` entries per
 * peer node in its receptionist (and as many in its topics); past that a listing is refused with a warning, at most
 * one a second per peer (never one line per message). A node that lists more actors is let in by raising the bound.
 * All peers together keep at most `remoteAccess.maxListings`, shared fairly: a node holding fewer is let in at the
 * expense of the oldest listing of the node holding the most.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Protocol, Receptionist } from "@troupe/runtime"
import { Effect, Logger, Option, References, Schedule, Schema, Stream } from "effect"
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
  /** How long the peers took to send their listings (warnings are a line a second at most). */
  readonly seconds: number
}

/** Listings the raw peer sends: `add` or `remove` of made-up actors numbered `from` up to (not including) `to`. */
type Step = readonly [op: "add" | "remove", from: number, to: number]

const made = (n: number) => ({ name: "echoes", protocol: "Echo", path: `/user/made-up-${n}-${"z".repeat(80)}` })

/**
 * A target node; a raw peer joins it and sends the listings of `steps` under `echoes`, in frames of 500 (with `peers`,
 * one raw peer per node id, one after the other, each sending all of `steps`; with `subscriber`, a subscriber to
 * `echoes` on the target counts what it gets, and the refs the node makes).
 */
const flood = (
  steps: ReadonlyArray<Step>,
  options: { readonly maxListingsPerNode?: number; readonly maxListings?: number } = {},
  peers: ReadonlyArray<string> = ["lister"],
  subscriber?: Subscriber
) =>
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
    if (subscriber !== undefined) {
      // every ref the node makes of a remote actor (the subscriber's listings make them)
      const impl = ActorSystem.internal(system)
      const remoteRef = impl.remoteRef.bind(impl)
      impl.remoteRef = (node, path, protocol) => {
        subscriber.refsMade++
        return remoteRef(node, path, protocol)
      }
      yield* Receptionist.subscribe(Echoes).pipe(
        Stream.runForEach((refs) =>
          Effect.sync(() => {
            subscriber.listings++
            subscriber.last = refs.length
          })
        ),
        Effect.provideService(ActorSystem.ActorSystem, system),
        Effect.forkScoped
      )
    }
    const before = yield* heapUsed
    const started = Date.now()
    for (const name of peers) {
      const peer = yield* join(name)
      for (const [op, from, to] of steps) {
        yield* Effect.promise(() => peer.send(to - from, (n) => PeerFlood.listing(op, made(from + n)), PER_FRAME))
      }
    }
    const seconds = (Date.now() - started) / 1000
    const after = yield* heapUsed
    const found = (yield* Receptionist.find(Echoes).pipe(Effect.provideService(ActorSystem.ActorSystem, system))).length
    // the subscriber takes the listing as it is now in its own time
    if (subscriber !== undefined)
      yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => subscriber.last === found, times: 1_000 }))
    return { heapGrowth: after - before, found, warnings, seconds } satisfies Flood
  }).pipe(Effect.scoped)

/** What a subscriber to `echoes` on the target got, and the refs the node made meanwhile. */
interface Subscriber {
  refsMade: number
  listings: number
  last: number
}

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
        // a line a second at most, however long the flood took on this host (5 at most in a 4 s flood)
        assert.isAtMost(refusals(result).length, Math.ceil(result.seconds) + 1, refusals(result).join("\n"))
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

  it.live(
    "peers under many node ids keep at most maxListings of them all together (was: maxListingsPerNode times the ids)",
    () =>
      Effect.gen(function* () {
        const result = yield* flood([["add", 0, 4_000]], { maxListings: 10_000 }, ["lister-1", "lister-2", "lister-3"])
        assert.strictEqual(result.found, 10_000)
        const all = result.warnings.filter((line) => line.includes("remoteAccess.maxListings)"))
        assert.isAtLeast(all.length, 1, result.warnings.join("\n"))
        assert.isAtMost(all.length, Math.ceil(result.seconds) + 1, all.join("\n"))
        assert.include(all[0]!, "lister-3")
      }),
    120_000
  )

  it.live(
    "a peer that filled maxListings cannot starve an honest node holding little: the filler's oldest listings leave for its (was: refused until the filler's left)",
    () =>
      Effect.gen(function* () {
        const warnings: Array<string> = []
        const capture = Logger.make(({ logLevel, message, fiber }) => {
          if (logLevel !== "Warn") return
          const text = (message as ReadonlyArray<unknown>).join(" ")
          warnings.push(`${text} ${JSON.stringify(fiber.getRef(References.CurrentLogAnnotations))}`)
        })
        const target = yield* PeerFlood.floodTarget(SECRET, {
          system: { remoteAccess: { register: ["echoes"], maxListings: 5_000 } },
          systemLoggers: [capture]
        })
        const { system, join } = target
        const filler = yield* join("filler")
        yield* Effect.promise(() => filler.send(6_000, (n) => PeerFlood.listing("add", made(n)), PER_FRAME))
        const onTarget = Effect.provideService(ActorSystem.ActorSystem, system)
        assert.strictEqual((yield* onTarget(Receptionist.find(Echoes))).length, 5_000)

        // an honest node lists its 10 actors under the same key
        const honest = yield* PeerFlood.honestNode(target, SECRET)
        const echo = Behavior.make(Echo, { initial: null, receive: { Ping: (state) => Effect.succeed(state) } })
        for (let n = 0; n < 10; n++) {
          const ref = yield* honest.spawn(echo, { name: `echo-${n}` })
          yield* Receptionist.register(Echoes, ref).pipe(Effect.provideService(ActorSystem.ActorSystem, honest))
        }
        const honestListed = Effect.map(
          onTarget(Receptionist.find(Echoes)),
          (refs) => refs.filter((ref) => ref.path.startsWith("/user/echo-")).length
        )
        const listed = yield* honestListed.pipe(
          Effect.repeat({ until: (n) => n === 10, schedule: Schedule.spaced("20 millis"), times: 1_000 }),
          Effect.timeoutOption("30 seconds")
        )
        assert.deepStrictEqual(listed, Option.some(10), warnings.join("\n"))
        assert.strictEqual((yield* onTarget(Receptionist.find(Echoes))).length, 5_000)
        // the filler is still refused (it holds the most), and the node says whose listings left for whom
        yield* Effect.promise(() => filler.send(100, (n) => PeerFlood.listing("add", made(10_000 + n)), PER_FRAME))
        assert.strictEqual(yield* honestListed, 10)
        const dropped = warnings.filter((line) => line.includes("A peer's listing was dropped"))
        assert.isAtLeast(dropped.length, 1, warnings.join("\n"))
        assert.include(dropped[0]!, `"peer":"filler"`)
        assert.include(dropped[0]!, "node honest")
        const refused = warnings.filter(
          (line) => line.includes("remoteAccess.maxListings)") && line.includes("A peer was refused")
        )
        assert.match(
          refused.at(-1)!,
          /this node holds \d+ of them, its address 127\.0\.0\.1 \d+, as many as any \(address 127\.0\.0\.1 holds \d+, node filler \d+\)/
        )
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "a subscriber's work per listing change is one entry, not the whole listing (was: 10,000 listings made 50 million refs)",
    () =>
      Effect.gen(function* () {
        const subscriber: Subscriber = { refsMade: 0, listings: 0, last: -1 }
        const steps: ReadonlyArray<Step> = [
          ["add", 0, 10_000],
          ["remove", 0, 5_000]
        ]
        yield* flood(steps, {}, ["lister"], subscriber)
        assert.strictEqual(subscriber.last, 5_000, JSON.stringify(subscriber))
        // one ref per listing added (none for a removal), whatever the listing's size; and 5,000 for the last `find`
        assert.isAtMost(subscriber.refsMade, 10_000 + 5_000, JSON.stringify(subscriber))
        assert.isAtMost(subscriber.listings, 15_001, JSON.stringify(subscriber))
      }),
    300_000
  )

  it.effect("a bound that is not a whole number of at least 1 is refused when the system is made", () =>
    Effect.gen(function* () {
      for (const option of ["maxListingsPerNode", "maxListings", "maxJoinsNotBegun", "maxSessions"] as const) {
        for (const bad of [0, 1.5, Number.NaN]) {
          const error = yield* Effect.flip(ActorSystem.make({ remoteAccess: { [option]: bad } }))
          assert.strictEqual(error._tag, "InvalidSystemOptions")
          assert.strictEqual(error.option, `remoteAccess.${option}`)
          assert.include(error.message, `remoteAccess.${option}`)
        }
      }
    }).pipe(Effect.scoped)
  )
})
