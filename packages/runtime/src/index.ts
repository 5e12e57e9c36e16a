/**
 * @troupe/runtime: supervised actors on Effect 4, and choreography sessions with session types.
 */
import type { ActorRef as ActorRefOf } from "./ActorRef.ts"
import type { Any as AnyProtocol } from "./Protocol.ts"

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
/** Global protocols: the DSL (`make`, the step builder), `Protocol`, `ProtocolDefinitionError`. */
export * as Choreography from "./choreography/Choreography.ts"
/** Mermaid diagrams of protocols, session traces and state machines. */
export * as Diagram from "./choreography/Diagram.ts"
/** Typed endpoints of a role in a session, and the `Port` a session runtime provides. */
export * as Endpoint from "./choreography/Endpoint.ts"
/** Local types: projection of a protocol on a role, at run time and at the type level. */
export * as LocalType from "./choreography/LocalType.ts"
/** Run-time monitors of a role's moves, and `ProtocolViolation`. */
export * as Monitor from "./choreography/Monitor.ts"
/** Sessions: a choreography played by actors (participants, `start`, `run`, aborts, checkpoints). */
export * as Session from "./choreography/Session.ts"
/** The events sessions publish on the system event stream. */
export * as SessionEvent from "./choreography/SessionEvent.ts"
/** State machines of roles (what a monitor steps through). */
export * as StateMachine from "./choreography/StateMachine.ts"
/** Bounded mailboxes and their overflow policies. */
export * as Mailbox from "./Mailbox.ts"
/** Typed message sets; requests declare their replies. */
export * as Protocol from "./Protocol.ts"
/** Service keys → actors, spanning connected nodes. */
export * as Receptionist from "./Receptionist.ts"
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
