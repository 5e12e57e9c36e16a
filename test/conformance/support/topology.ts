/**
 * Topologies: where the participants of a conformance run live. The same test body runs over each.
 *
 * A topology makes the places of one run: `home`, the actor system that starts sessions (it hosts their
 * coordinators), and `spawn(role, behavior)`, which spawns the participant of `role` where the topology
 * puts it and answers a ref that `home` can use. A topology where roles live on other nodes (over the
 * in-process or the WebSocket transport) spawns them there and answers refs that reach them remotely.
 */
import { type ActorRef, ActorSystem, type Behavior, type Protocol } from "@troupe/runtime"
import { Effect, type Scope } from "effect"
import * as Nodes from "../../support/topology.ts"

/** The places of one run. */
export interface Places {
  /** Where sessions start. */
  readonly home: ActorSystem.ActorSystemService
  /** Spawns the participant of `role` where it lives; the ref works from `home`. */
  spawn<P extends Protocol.Any, S>(
    role: string,
    behavior: Behavior.Behavior<P, S>
  ): Effect.Effect<ActorRef.ActorRef<P>, ActorSystem.SpawnError>
}

/** Where the participants of a run live. */
export interface Topology {
  readonly name: string
  /** How many nodes the participants of a protocol with two roles or more spread over. */
  readonly nodes: number
  /** Makes the places of one run; they are released with the scope. */
  readonly places: Effect.Effect<Places, never, Scope.Scope>
}

/** Every participant and the session's coordinator in one actor system. */
export const oneSystem: Topology = {
  name: "one actor system",
  nodes: 1,
  places: Effect.map(Effect.orDie(ActorSystem.make({ name: "home" })), (home) => ({
    home,
    spawn: (_role, behavior) => home.spawn(behavior)
  }))
}

/**
 * Two nodes connected by a transport: sessions start on the first, and the roles alternate between the two in
 * the protocol's order. A role on the other node is reached through a remote ref (its messages cross the
 * transport, encoded with their schemas).
 */
const twoNodes = (nodes: Nodes.Topology): Topology => ({
  name: `two nodes over the ${nodes.name} transport`,
  nodes: 2,
  places: Effect.gen(function* () {
    const [home, other] = yield* Effect.orDie(nodes.start(["home", "other"]))
    const seen: Array<string> = []
    return {
      home: home!.system,
      spawn: (role, behavior) => {
        if (!seen.includes(role)) seen.push(role)
        if (seen.indexOf(role) % 2 !== 0) return home!.system.spawn(behavior)
        return Effect.flatMap(other!.system.spawn(behavior), (ref) =>
          Effect.orDie(home!.system.lookup(ref.path, behavior.protocol, { node: "other" }))
        )
      }
    }
  })
})

/** The topologies the conformance runs go over. */
export const topologies: ReadonlyArray<Topology> = [oneSystem, twoNodes(Nodes.inProcess), twoNodes(Nodes.webSocket)]
