/**
 * @troupe/inspector: a live web page of a running Troupe system (nodes, actors, sessions, agents, dead
 * letters), where people also play session roles and approve tool calls. The guide is docs/inspector.md.
 */
/** The inspector: a page served by a node, live, offline, read-only unless started with a token. */
export * as Inspector from "./Inspector.ts"
/** People at a terminal: answer a node's desk, or play a session role through an inspector. */
export * as Terminal from "./Terminal.ts"
/** The JSON the inspector serves: its state, the patches that keep it live, the actions it accepts. */
export * as View from "./View.ts"
