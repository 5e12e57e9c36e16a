/**
 * The `troupe` command line: `troupe node` runs a node hosting the agents of a module, and
 * `troupe protocol check|project|diagram` checks, projects and draws the choreography protocols a module
 * exports. The guide is docs/cli.md.
 *
 * Errors a user can fix (a bad flag, a module that does not load or exports nothing usable, a peer that
 * never comes up) are one line on stderr that says what to do, and exit code 1. A node stopped with
 * Ctrl-C shuts down gracefully and exits with 0 (see `bin.ts`).
 *
 * @example
 * ```ts
 * // bin.ts
 * NodeRuntime.runMain(Cli.run(process.argv.slice(2)))
 * ```
 */

import { readFileSync } from "node:fs"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect, Layer, Logger, References } from "effect"
import { CliOutput, Command } from "effect/cli"
import { clusterCommand } from "./internal/clusterCommands.ts"
import { node } from "./internal/nodeCommand.ts"
import { protocolCommand } from "./internal/protocolCommands.ts"
import { sessionCommand } from "./internal/sessionCommands.ts"

/** The CLI's version: its package's (the same from `src/` in the repository and from `dist/` once installed). */
export const version: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { readonly version: string }
).version

/** The `troupe` command and its subcommands. */
export const command = Command.make("troupe").pipe(
  Command.withDescription("Troupe: supervised actors and choreographed LLM agents. See docs/cli.md."),
  Command.withSubcommands([node, protocolCommand, sessionCommand, clusterCommand])
)

/** Flag errors in one line, with where to find the usage. */
const presenter: CliOutput.Presenter = {
  present: (event) => {
    if (event._tag !== "InvalidInvocation") return CliOutput.defaultPresenter.present(event)
    const path = event.commandPath.join(" ")
    const reasons = event.errors.map((e) => e.message.replace(/\s+/g, " ").trim().replace(/\.$/, "")).join("; ")
    return Console.error(`${path}: ${reasons}. Run "${path} --help" for usage.`)
  }
}

const output = Layer.mergeAll(
  CliOutput.layerPresenter(presenter),
  CliOutput.layer({
    ...CliOutput.defaultFormatter({ globalFlags: "summary" }),
    formatError: (error) => `troupe: ${error.message}`
  })
)

/** Logs go to stderr, one line each, from warnings up unless `--log-level` says otherwise. */
const logs = Layer.mergeAll(
  Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)]),
  Layer.succeed(References.MinimumLogLevel, "Warn")
)

/** Runs the CLI with these arguments (without the node binary and script), on Node. */
export const run = (args: ReadonlyArray<string>) =>
  Command.runWith(command, { version })(args).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, output, logs)))
