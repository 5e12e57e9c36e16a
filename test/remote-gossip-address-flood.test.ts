/**
 * A peer with the secret gossips members at one address it controls, each under a node id of its own, each a real node
 * that accepts the link: the node dials the members it learns, and `limits.maxLearnedDials` bounds only the dials not
 * linked yet. Once linked, a dial's place is free for the next member: the node dialed and held a link to every member
 * it was told, up to `limits.maxPeers` (links are per node id), all at the one address, and then refused every other
 * node with 4008, an honest one too. The links of one address are now bounded (`limits.maxPeersPerAddress`), accepted
 * or dialed: a member at an address holding that many is not dialed, a dial that reaches one is refused, and an honest
 * node on another address still links.
 *
 * The members are another process (test/support/ghost-members.ts) listening on 127.0.0.3; the honest node listens on
 * 127.0.0.2 and the target dials it.
 */
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Peer, WebSocket } from "@troupe/transport"
import { Effect, Option, References, Schedule, Stream } from "effect"
import * as Child from "./support/child.ts"
import type { GhostsConfig } from "./support/ghost-members.ts"
import * as PeerFlood from "./support/peer-flood.ts"

const SECRET = "a gossip address flood test secret"
const GHOSTS = fileURLToPath(new URL("./support/ghost-members.ts", import.meta.url))
const LONG = process.env.TROUPE_LONG === "1"
/** Members gossiped at 127.0.0.3; at most `PER_ADDRESS` linked; `MAX_PEERS` links in all (fewer than the members). */
const MEMBERS = LONG ? 150 : 16
const PER_ADDRESS = LONG ? 100 : 4
const MAX_PEERS = LONG ? 120 : 10
afterAll(() => Child.stopAll())

describe(`a peer gossips ${MEMBERS} members at one address, each a node that accepts the link`, () => {
  it.live(
    `the node links at most ${PER_ADDRESS} of them (maxPeersPerAddress) and an honest node on another address still links (was: one per member up to maxPeers, ${MAX_PEERS}, then every node refused)`,
    () =>
      Effect.gen(function* () {
        const { transport, url } = yield* PeerFlood.floodTarget(SECRET, {
          transport: {
            limits: { maxPeers: MAX_PEERS, ...(LONG ? {} : { maxPeersPerAddress: PER_ADDRESS }) }
          }
        })
        // the links at 127.0.0.3, now and at most at once, as the node's peer events say
        let ghosts = 0
        let peak = 0
        const atGhosts = (event: { readonly remoteAddress?: string | undefined }) =>
          event.remoteAddress !== undefined && Peer.addressUnit(event.remoteAddress) === "127.0.0.3"
        yield* transport.events.pipe(
          Stream.runForEach((event) =>
            Effect.sync(() => {
              if (Peer.isPeerUp(event) && atGhosts(event)) peak = Math.max(peak, ++ghosts)
              else if (Peer.isPeerDown(event) && event.node.startsWith("ghost-")) ghosts--
            })
          ),
          Effect.forkScoped
        )
        const config: GhostsConfig = { url, secret: SECRET, ghosts: MEMBERS, host: "127.0.0.3" }
        const child = Child.start([GHOSTS, JSON.stringify(config)])
        yield* Effect.addFinalizer(() => Effect.sync(() => child.process.kill("SIGKILL")))
        yield* Effect.promise(() => child.line(/"round":1\b/))
        const linked = yield* Effect.sync(() => ghosts).pipe(
          Effect.repeat({ until: (n) => n >= PER_ADDRESS, schedule: Schedule.spaced("20 millis"), times: 3_000 })
        )
        assert.isAtLeast(linked, PER_ADDRESS, "the node did not link to the members it was told")
        // five more rounds of gossip naming every member: none more is linked
        const round = Number(/"round":(\d+)\D*$/.exec(child.stdout().trim())![1])
        yield* Effect.promise(() => child.line(new RegExp(`"round":${round + 5}\\b`)))
        assert.strictEqual(ghosts, PER_ADDRESS, `${ghosts} links at the members' address`)
        assert.strictEqual(peak, PER_ADDRESS, `${peak} links at the members' address at once`)

        const honest = yield* WebSocket.make({ node: "honest", secret: SECRET, listen: { port: 0, host: "127.0.0.2" } })
        const node = yield* transport
          .connect(Option.getOrThrow(honest.address))
          .pipe(Effect.timeoutOption("20 seconds"))
        assert.deepStrictEqual(
          Option.map(node, (peer) => peer.node),
          Option.some("honest"),
          `the node did not link to an honest node (${ghosts} links at the members' address)`
        )
        assert.strictEqual(peak, PER_ADDRESS, `${peak} links at the members' address at once`)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    120_000
  )
})
