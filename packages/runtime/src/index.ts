/**
 * @troupe/runtime: supervised actors on Effect 4, and choreography sessions with session types.
 */
import type { ActorRef as ActorRefOf } from "./ActorRef.ts"
import type { Any as AnyProtocol } from "./Protocol.ts"

/**
 * The protocol language, re-exported from `@troupe/choreography` so that a program running sessions needs one
 * import: `Choreography`, `Diagram`, `Endpoint`, `LocalType`, `Monitor`, `StateMachine`.
 */
export { Choreography, Diagram, Endpoint, Game, LocalType, Monitor, Policy, StateMachine } from "@troupe/choreography"
/** Refs: `tell`, and `ask` with a deadline; refs inside messages (`ActorRef.schema`); the errors of an ask. */
export * as ActorRef from "./ActorRef.ts"
/** A ref to an actor whose protocol is `P` (the same type as `ActorRef.ActorRef<P>`). */
export type ActorRef<P extends AnyProtocol = AnyProtocol> = ActorRefOf<P>
/**
 * The same type again, under a name of its own: declaration files name it so (TypeScript cannot name a
 * member of `ActorRef` through `import("@troupe/runtime")` now that `ActorRef` is also a type).
 */
export type { ActorRef as ActorRefType } from "./ActorRef.ts"
/** The actor system: spawn, lookup (on any node), stop, connect, events, stats, shutdown. */
export * as ActorSystem from "./ActorSystem.ts"
/** Behaviours: an initial state and one handler per message (an Effect, or a generator function). */
export * as Behavior from "./Behavior.ts"
/** Sessions: a choreography played by actors (participants, `start`, `run`, aborts, checkpoints). */
export * as Session from "./choreography/Session.ts"
/** The events sessions publish on the system event stream. */
export * as SessionEvent from "./choreography/SessionEvent.ts"
/** Runners of Effect Cluster with Troupe's storage on one database (SQLite for one process, PostgreSQL for several). */
export * as Cluster from "./cluster/Cluster.ts"
/** What each runner of a cluster holds (shards, active actors per type), and the `ShardsChanged` event. */
export * as ClusterStatus from "./cluster/ClusterStatus.ts"
/** Sharded actors: a behaviour as a cluster entity type, addressed by (type, id) anywhere in the cluster. */
export * as Sharded from "./cluster/Sharded.ts"
/** Sessions with sharded roles: roles bound by (type, id), resumed from the session's log wherever they move. */
export * as ShardedSession from "./cluster/ShardedSession.ts"
/** Durations given as options, checked where they come in (`"5 sec0"`, `NaN`, `-1` are not durations). */
export * as Durations from "./Durations.ts"
/** Durable actors (state stored under a persistence id) and durable messages (stored before acknowledged). */
export * as Durable from "./durable/Durable.ts"
/** Durable sessions: a session's log in storage, so that it survives kill -9 of any of its nodes. */
export * as DurableSession from "./durable/DurableSession.ts"
/** Entities: actors addressed by a stable id, spawned on their first message, passivated when idle. */
export * as Entity from "./durable/Entity.ts"
/** Durable storage (SQLite by default, PostgreSQL for several processes) over `effect/sql`, migrated by Troupe. */
export * as Storage from "./durable/Storage.ts"
/** Snapshots of a running node for inspectors (links, the actor tree, session roles) and operator actions. */
export * as Introspection from "./Introspection.ts"
/** Bounded mailboxes and their overflow policies. */
export * as Mailbox from "./Mailbox.ts"
/** Typed message sets; requests declare their replies. */
export * as Protocol from "./Protocol.ts"
/** Questions that wait for a person (a human role's move, a tool call's approval), on each node's desk. */
export * as Desk from "./people/Desk.ts"
/** A person playing a session role: offered exactly the legal moves, each checked by the monitor. */
export * as HumanRole from "./people/HumanRole.ts"
/** Service keys → actors, spanning connected nodes. */
export * as Receptionist from "./Receptionist.ts"
/** What other nodes may do on this one: the actors they may reach, the keys and topics they may list under. */
export * as RemoteAccess from "./RemoteAccess.ts"
/** OTP supervision: strategies, restart policies, budgets, backoff, deciders, pure supervisors. */
export * as Supervisor from "./Supervisor.ts"
/** The typed events of an actor system. */
export * as SystemEvent from "./SystemEvent.ts"
/** Death watch: `Terminated` and its reasons. */
export * as Terminated from "./Terminated.ts"
/** Probes for tests. */
export * as TestKit from "./TestKit.ts"
/** Publish and subscribe, spanning connected nodes. */
export * as Topic from "./Topic.ts"
/** The Promise API, for code that does not use Effect (a Node backend, a CLI, a test). */
export * as Troupe from "./Troupe.ts"
