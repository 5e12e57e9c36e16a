/**
 * One process that runs many nodes at one address (real WebSocket transports, `ghost-0` ..., each on a port of its
 * own, accepting links with the secret) and gossips them to a node as members, from a raw peer (`gossiper`), every
 * 300 ms as members do every heartbeat: the node links to the members it learns, so it would dial and hold a link to
 * each. It prints `{"ghosts":n}` once they listen, then `{"round":k}` after each gossip, until it is killed.
 *
 * Run: `node ghost-members.ts '{"url":"ws://127.0.0.1:7000","secret":"...","ghosts":30,"host":"127.0.0.3"}'`
 */
import { WebSocket } from "@troupe/transport"
import { Effect, Option, References, Schedule } from "effect"
import * as PeerFlood from "./peer-flood.ts"

export interface GhostsConfig {
  readonly url: string
  readonly secret: string
  /** How many nodes at the address. */
  readonly ghosts: number
  /** The address they listen on. */
  readonly host: string
}

const config = JSON.parse(process.argv[2]!) as GhostsConfig

Effect.runFork(
  Effect.scoped(
    Effect.gen(function* () {
      const members = yield* Effect.forEach(
        Array.from({ length: config.ghosts }, (_, i) => `ghost-${i}`),
        (node) =>
          WebSocket.make({
            node,
            secret: config.secret,
            listen: { port: 0, host: config.host },
            connectAll: false
          }).pipe(Effect.map((transport) => ({ node, address: Option.getOrThrow(transport.address) }))),
        { concurrency: 16 }
      )
      process.stdout.write(`${JSON.stringify({ ghosts: members.length })}\n`)
      const gossiper = yield* Effect.promise(() => PeerFlood.join(config.url, "gossiper", config.secret))
      let round = 0
      yield* Effect.sync(() => {
        gossiper.raw.send({ type: "members", members })
        process.stdout.write(`${JSON.stringify({ round: ++round })}\n`)
      }).pipe(Effect.repeat({ schedule: Schedule.spaced("300 millis") }))
    })
  ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
)
