/** @troupe/runtime */
export * as Choreography from "./choreography/Choreography.ts"
export * as Diagram from "./choreography/Diagram.ts"
export * as Endpoint from "./choreography/Endpoint.ts"
export * as LocalType from "./choreography/LocalType.ts"
export * as Monitor from "./choreography/Monitor.ts"
export * as StateMachine from "./choreography/StateMachine.ts"
