/** What the module's `main` hook gets: the node, its agents, waits for nodes and actors, and `shutdown`. */
import { type ActorRef, type ActorSystem, Durations, type Protocol } from "@troupe/runtime"
import { Deferred, Duration, Effect, Option } from "effect"
import * as AgentsModule from "../AgentsModule.ts"

/** Runs `attempt` every 100 ms until it finds something; fails with `NotReady` after `timeout` (default 30 s). */
const poll = <A, E>(
  what: string,
  attempt: Effect.Effect<Option.Option<A>, E>,
  timeout: Duration.Input = "30 seconds",
  why: Effect.Effect<string | undefined> = Effect.succeed(undefined)
): Effect.Effect<A, E | AgentsModule.NotReady> => {
  const bad = Durations.badDuration([["timeout", timeout]])
  // the hook's own mistake: its main fails with it (MainFailed), naming the option
  if (bad !== undefined) return Effect.die(new TypeError(`waiting for ${what}: the option ${bad.option} ${bad.detail}`))
  const loop: Effect.Effect<A, E> = Effect.flatMap(attempt, (found) =>
    Option.isSome(found) ? Effect.succeed(found.value) : Effect.andThen(Effect.sleep("100 millis"), loop)
  )
  return Effect.timeoutOrElse(loop, {
    duration: timeout,
    orElse: () =>
      Effect.flatMap(why, (reason) =>
        Effect.fail(
          new AgentsModule.NotReady({
            what,
            waitedMillis: Duration.toMillis(timeout),
            ...(reason === undefined ? {} : { reason })
          })
        )
      )
  })
}

/** What the hook gets. */
export const nodeContext = (
  system: ActorSystem.ActorSystemService,
  peers: ReadonlyArray<string>,
  agents: Readonly<Record<string, ActorRef.ActorRef<Protocol.Any>>>,
  stop: Deferred.Deferred<void>
): AgentsModule.NodeContext => ({
  node: system.node,
  address: system.address,
  peers,
  system,
  agents,
  awaitNode: (id, wait) =>
    poll(
      `node ${id}`,
      Effect.map(system.nodes, (nodes) => (nodes.includes(id) ? Option.some(id) : Option.none())),
      wait?.timeout
    ).pipe(Effect.asVoid),
  awaitActor: (path, protocol, wait) =>
    poll(
      `actor ${path} on ${wait?.node ?? system.node}`,
      system.lookup(path, protocol, wait?.node === undefined ? {} : { node: wait.node }).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (error) => error.reason !== "protocol-mismatch",
          () => Effect.succeedNone
        )
      ),
      wait?.timeout,
      // an actor of a node this one has no link to cannot be there: say why
      Effect.map(system.nodes, (nodes) =>
        wait?.node === undefined || wait.node === system.node || nodes.includes(wait.node)
          ? undefined
          : `node ${wait.node} has no link to node ${system.node} (linked: ${nodes.join(", ") || "none"}). ` +
            `Nodes link to the members they learn only when those listen at an address they can dial ` +
            `(troupe node --listen, and --advertise when the listening URL is not it)`
      )
    ),
  shutdown: Deferred.succeed(stop, undefined).pipe(Effect.asVoid)
})
