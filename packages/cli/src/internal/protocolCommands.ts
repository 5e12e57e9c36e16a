/** `troupe protocol check|project|diagram|game|simulate`: the choreography protocols a module exports. */
import { mkdirSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { Console, Effect, Option, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type * as ProtocolModule from "../ProtocolModule.ts"
import { game, simulate } from "./gameCommands.ts"
import { firstLine, resolvePath } from "./load.ts"
import { AlreadyReported, userError } from "./userError.ts"

/** A file or directory could not be written. */
class CannotWrite extends Schema.TaggedError<CannotWrite>()("CannotWrite", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Cannot write ${this.path}: ${this.detail}`
  }
}

const moduleArgument = Argument.String("module").pipe(
  Argument.withDescription("A .ts or .js file exporting choreography protocols")
)
const protocolFlag = Flag.String("protocol").pipe(
  Flag.withDescription("Only the protocol with this name, when the module exports several"),
  Flag.optional
)

/**
 * `ProtocolModule`, imported when a command runs: it loads the runtime, which `troupe --help`, a mistyped flag
 * and the other commands do not need.
 */
const protocolModule = Effect.promise(() => import("../ProtocolModule.ts"))

/** The protocols of the module (only the one asked for, with `--protocol`), and `ProtocolModule` to report them. */
const protocols = (module: string, protocol: Option.Option<string>) =>
  Effect.flatMap(protocolModule, (Protocols) =>
    Effect.map(Protocols.load(module, { protocol: Option.getOrUndefined(protocol) }), (found) => ({ Protocols, found }))
  )

/** Prints a report; exit code 1 (and nothing more said) when a protocol is ill-formed. */
const report = (Protocols: typeof ProtocolModule, text: string, found: ReadonlyArray<ProtocolModule.Found>) =>
  Console.log(text).pipe(Effect.andThen(Protocols.allWellFormed(found) ? Effect.void : new AlreadyReported()))

const check = Command.make("check", { module: moduleArgument, protocol: protocolFlag }, ({ module, protocol }) =>
  protocols(module, protocol).pipe(
    Effect.flatMap(({ Protocols, found }) => report(Protocols, Protocols.check(found), found)),
    userError
  )
).pipe(
  Command.withDescription(
    "Check the choreography protocols a module exports: their roles, and whether each is well-formed (exit 1 if not)"
  )
)

const project = Command.make(
  "project",
  {
    module: moduleArgument,
    protocol: protocolFlag,
    machine: Flag.Boolean("machine").pipe(
      Flag.withDescription("Also print each role's state machine"),
      Flag.withDefault(false)
    )
  },
  ({ module, protocol, machine }) =>
    protocols(module, protocol).pipe(
      Effect.flatMap(({ Protocols, found }) =>
        report(Protocols, Protocols.project(found, { machines: machine }), found)
      ),
      userError
    )
).pipe(Command.withDescription("Print each role's local type (the protocol projected on it)"))

const diagram = Command.make(
  "diagram",
  {
    module: moduleArgument,
    protocol: protocolFlag,
    out: Flag.String("out").pipe(
      Flag.withDescription("Directory to write the files in (created if missing)"),
      Flag.withDefault(".")
    ),
    html: Flag.Boolean("html").pipe(
      Flag.withDescription("Also write an HTML page that shows the diagram in a browser, offline"),
      Flag.withDefault(false)
    ),
    svg: Flag.Boolean("svg").pipe(
      Flag.withDescription("Also write the diagram as an SVG image"),
      Flag.withDefault(false)
    )
  },
  ({ module, protocol, out, html, svg }) =>
    Effect.gen(function* () {
      const { Protocols, found } = yield* protocols(module, protocol)
      const refused = Protocols.refused(found)
      if (refused.length > 0) return yield* report(Protocols, Protocols.check(refused), refused)
      const directory = resolvePath(out)
      yield* Effect.try({
        try: () => mkdirSync(directory, { recursive: true }),
        catch: (error) => new CannotWrite({ path: directory, detail: firstLine(error) })
      })
      for (const p of Protocols.wellFormed(found)) {
        for (const [file, contents] of Protocols.diagramFiles(p, { html, svg })) {
          const path = join(directory, file)
          yield* Effect.try({
            try: () => writeFileSync(path, contents),
            catch: (error) => new CannotWrite({ path, detail: firstLine(error) })
          })
          const shown = relative(process.cwd(), path)
          yield* Console.log(`wrote ${shown.startsWith("..") || shown === "" ? path : shown}`)
        }
      }
    }).pipe(userError)
).pipe(
  Command.withDescription(
    "Write each protocol as a Mermaid sequence diagram (<name>.mmd), and optionally as an HTML page or SVG"
  )
)

/** `troupe protocol`: its subcommands. */
export const protocolCommand = Command.make("protocol").pipe(
  Command.withDescription(
    "Check, project and draw the choreography protocols a module exports; print and simulate their games"
  ),
  Command.withSubcommands([check, project, diagram, game, simulate])
)
