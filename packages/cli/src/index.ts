/**
 * @troupe/cli: the `troupe` command line, and what it is made of, for programs that want the same:
 *
 * - {@link Cli}: the commands (`troupe node`, `troupe protocol check|project|diagram`).
 * - {@link TroupeNode}: a node hosting the agents of a module, joining its peers, until Ctrl-C.
 * - {@link AgentsModule}: the convention an agents module follows (`agents`, `script`, `main`).
 * - {@link ProtocolModule}: the choreography protocols a module exports, checked, projected, drawn.
 * - {@link GameModule}: the games a module exports, printed, exported to Gambit, solved, simulated.
 * - {@link SequenceDiagram}: Mermaid sequence diagrams drawn as SVG and offline HTML pages.
 *
 * The guide is docs/cli.md.
 */
export * as AgentsModule from "./AgentsModule.ts"
export * as Cli from "./Cli.ts"
export * as GameModule from "./GameModule.ts"
export * as ProtocolModule from "./ProtocolModule.ts"
export * as SequenceDiagram from "./SequenceDiagram.ts"
export * as TroupeNode from "./TroupeNode.ts"
