/** @troupe/runtime */
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
/** State machines of roles (what a monitor steps through). */
export * as StateMachine from "./choreography/StateMachine.ts"
