/**
 * @troupe/runtime: supervised actors on Effect 4.
 *
 * - {@link Protocol}: typed message sets, with replies for requests.
 * - {@link Behavior}: what an actor is: initial state and one handler per message.
 * - {@link ActorRef}: `tell` and `ask` (always with a deadline).
 * - {@link ActorSystem}: spawn, lookup, stop, events, shutdown.
 * - {@link Supervisor}: OTP strategies, restart budgets, backoff, deciders.
 * - {@link Mailbox}: bounded mailboxes and overflow policies.
 * - {@link Terminated}: death watch.
 * - {@link SystemEvent}: the typed event stream.
 * - {@link Choreography}, {@link LocalType}, {@link StateMachine}, {@link Monitor}, {@link Endpoint},
 *   {@link Diagram}, {@link Session}, {@link SessionEvent}: choreography sessions with multiparty session types.
 */
export * as ActorRef from "./ActorRef.ts"
export * as ActorSystem from "./ActorSystem.ts"
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
export * as Mailbox from "./Mailbox.ts"
export * as Protocol from "./Protocol.ts"
export * as Receptionist from "./Receptionist.ts"
export * as Supervisor from "./Supervisor.ts"
export * as SystemEvent from "./SystemEvent.ts"
export * as Terminated from "./Terminated.ts"
export * as TestKit from "./TestKit.ts"
export * as Topic from "./Topic.ts"
export * as Troupe from "./Troupe.ts"
