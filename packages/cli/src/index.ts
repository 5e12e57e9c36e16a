/**
 * @troupe/cli: the `troupe` command line, and what it is made of, for programs that want the same. The guide is
 * docs/cli.md.
 */
/** The convention an agents module follows (`agents`, `script`, `main`). */
export * as AgentsModule from "./AgentsModule.ts"
/** The `troupe` command: `troupe node`, `troupe protocol ...`, `troupe session ...`, `troupe cluster ...` (see `--help`). */
export * as Cli from "./Cli.ts"
/** The games a module exports, printed, exported to Gambit, solved, simulated. */
export * as GameModule from "./GameModule.ts"
/** The choreography protocols a module exports, checked, projected, drawn. */
export * as ProtocolModule from "./ProtocolModule.ts"
/** Mermaid sequence diagrams drawn as SVG and offline HTML pages. */
export * as SequenceDiagram from "./SequenceDiagram.ts"
/** A node hosting the agents of a module, joining its peers, until Ctrl-C. */
export * as TroupeNode from "./TroupeNode.ts"
