/**
 * `@troupe/choreography`: the protocol language, knowing nothing of actors. A global protocol is written once
 * with the DSL, checked for well-formedness, projected to one local type per role, turned into state machines,
 * monitored, drawn as a diagram and typed as endpoints; `@troupe/runtime` runs it over actors (`Session`).
 *
 * @since 0.1.0
 */
/** Global protocols: the DSL (`make`, the step builder), `Protocol`, `ProtocolDefinitionError`. */
export * as Choreography from "./Choreography.ts"
/** Mermaid diagrams of protocols, session traces and state machines. */
export * as Diagram from "./Diagram.ts"
/** Typed endpoints of a role in a session, and the `Port` a session runtime provides. */
export * as Endpoint from "./Endpoint.ts"
/** The game behind a protocol: strategic choices, utilities, nature's draws; extensive form, Gambit export. */
export * as Game from "./Game.ts"
/** A worked game: the market for lemons as Pact's book-seller protocol, with the parameters of docs/agreement.md. */
export * as Lemons from "./games/Lemons.ts"
/** Local types: projection of a protocol on a role, at run time and at the type level. */
export * as LocalType from "./LocalType.ts"
/** Run-time monitors of a role's moves, and `ProtocolViolation`. */
export * as Monitor from "./Monitor.ts"
/** Policies of a game: backward induction, level-k quantal reasoning, Monte-Carlo simulation. */
export * as Policy from "./Policy.ts"
/** State machines of roles (what a monitor steps through). */
export * as StateMachine from "./StateMachine.ts"
