/**
 * The choreography protocols a module exports, as `troupe protocol check|project|diagram` reads them, and
 * what those commands print or write.
 *
 * A protocol module exports protocols built with `Choreography.makeUnsafe` (a `Protocol`) or
 * `Choreography.make` (an `Effect` of one, evaluated here). An ill-formed protocol is reported with its
 * problems either way: `make` fails with the `ProtocolDefinitionError`, and `makeUnsafe` throws it while
 * the module loads (then it is the only one reported, since the module stops loading there).
 *
 * @example
 * ```ts
 * const found = yield* ProtocolModule.load("./protocols.ts") // what `troupe protocol check ./protocols.ts` reads
 * console.log(ProtocolModule.check(found)) // one line per protocol: well-formed, or its problems
 * if (!ProtocolModule.allWellFormed(found)) process.exitCode = 1
 * ```
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Choreography, Diagram, LocalType, StateMachine } from "@troupe/runtime"
import { Cause, Effect, Exit } from "effect"
import { type ModuleNotLoaded, ModuleUnusable, notLoaded } from "./AgentsModule.ts"
import { importModule } from "./internal/load.ts"
import * as SequenceDiagram from "./SequenceDiagram.ts"

/**
 * A protocol definition exported by `Choreography.make` whose evaluation ended in neither a protocol nor
 * its problems (it died, or did not complete at once): it was not checked.
 */
export interface Unchecked {
  readonly _tag: "Unchecked"
  readonly protocol: string
  readonly reason: string
}

/** A protocol found in a module: well-formed, refused with its problems, or not checked. */
export type Found = Choreography.Protocol | Choreography.ProtocolDefinitionError | Unchecked

const isProtocol = (u: unknown): u is Choreography.Protocol =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Protocol" && "localTypes" in u

const isDefinitionError = (u: unknown): u is Choreography.ProtocolDefinitionError =>
  typeof u === "object" &&
  u !== null &&
  (u as { _tag?: unknown })._tag === "ProtocolDefinitionError" &&
  Array.isArray((u as { problems?: unknown }).problems)

const isUnchecked = (found: Found): found is Unchecked => found._tag === "Unchecked"

const nameOf = (found: Found) => (isProtocol(found) ? found.name : found.protocol)

/** What an exported value holds: a protocol, a refused or unchecked definition, or nothing of ours. */
const inspect = (value: unknown): Found | undefined => {
  if (isProtocol(value)) return value
  if (!Effect.isEffect(value)) return undefined
  const definition = Choreography.definitionName(value)
  // `Choreography.make` is synchronous and needs nothing; other effects that fail here are left alone.
  const exit = Effect.runSyncExit(value as Effect.Effect<unknown, unknown>)
  if (Exit.isSuccess(exit)) {
    if (isProtocol(exit.value)) return exit.value
    return definition === undefined ? undefined : unchecked(definition, "its definition did not answer a protocol")
  }
  const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  if (failure !== undefined && isDefinitionError(failure.error)) return failure.error
  return definition === undefined ? undefined : unchecked(definition, Cause.pretty(exit.cause).split("\n")[0]!)
}

const unchecked = (protocol: string, reason: string): Unchecked => ({ _tag: "Unchecked", protocol, reason })

/** Loads a module and finds its protocols (only the one named `protocol`, when given). */
export const load = (
  module: string,
  options: { readonly protocol?: string | undefined } = {}
): Effect.Effect<ReadonlyArray<Found>, ModuleNotLoaded | ModuleUnusable> =>
  importModule(module).pipe(
    Effect.map((exports) => [
      ...new Set(
        Object.values(exports)
          .map(inspect)
          .filter((f) => f !== undefined)
      )
    ]),
    Effect.catchTag("ImportFailed", (failed) =>
      isDefinitionError(failed.error) ? Effect.succeed([failed.error]) : Effect.fail(notLoaded(failed))
    ),
    Effect.flatMap((found) => {
      if (found.length === 0) {
        return Effect.fail(
          new ModuleUnusable({
            module,
            reason:
              "exports no choreography protocol: export one made with Choreography.make or Choreography.makeUnsafe"
          })
        )
      }
      if (options.protocol === undefined) return Effect.succeed(found)
      const chosen = found.filter((f) => nameOf(f) === options.protocol)
      return chosen.length > 0
        ? Effect.succeed(chosen)
        : Effect.fail(
            new ModuleUnusable({
              module,
              reason: `has no protocol named ${options.protocol} (it has ${found.map(nameOf).join(", ")})`
            })
          )
    })
  )

/**
 * Where a problem's step was written, as a compiler says it: `at file:line:column` (the file relative to the
 * working directory when inside it), then that line of the file with a caret under the column (when the file
 * can be read; a long line is cut around the column).
 */
const quoted = (source: Choreography.Problem["source"]): ReadonlyArray<string> => {
  if (source === undefined) return []
  const relative = Path.relative(process.cwd(), source.file)
  const file = relative === "" || relative.startsWith("..") || Path.isAbsolute(relative) ? source.file : relative
  const at = `    at ${file}:${source.line}:${source.column}`
  let text: string | undefined
  try {
    text = Fs.readFileSync(source.file, "utf8").split(/\r?\n/)[source.line - 1]
  } catch {
    return [at]
  }
  if (text === undefined) return [at]
  const from = Math.max(0, source.column - 61)
  const shown = `${from > 0 ? "…" : ""}${text.slice(from, from + 100)}${text.length > from + 100 ? "…" : ""}`
  const gutter = `      ${source.line} | `
  return [
    at,
    `${gutter}${shown}`,
    `${" ".repeat(gutter.length - 2)}| ${" ".repeat(source.column - 1 - from + (from > 0 ? 1 : 0))}^`
  ]
}

/** The lines that report a protocol that is not well-formed, or was not checked. */
const problems = (found: Choreography.ProtocolDefinitionError | Unchecked): ReadonlyArray<string> =>
  isUnchecked(found)
    ? [`${found.protocol}: not checked: ${found.reason}`]
    : [
        `${found.protocol}: not well-formed (${found.problems.length} problem${found.problems.length === 1 ? "" : "s"})`,
        ...found.problems.map((p) => {
          const where = [
            p.role === undefined ? undefined : `role ${p.role}`,
            p.branch === undefined ? undefined : `branch "${p.branch}"`,
            p.label === undefined ? undefined : `label "${p.label}"`
          ].filter((part) => part !== undefined)
          return [
            `  - ${p.code}${where.length === 0 ? "" : ` (${where.join(", ")})`}: ${p.message}`,
            ...quoted(p.source)
          ]
        })
      ].flat()

/** Whether every protocol found is well-formed (and was checked). */
export const allWellFormed = (found: ReadonlyArray<Found>): boolean => found.every(isProtocol)

/** `troupe protocol check`: each protocol's roles and "well-formed", or its problems, or why it was not checked. */
export const check = (found: ReadonlyArray<Found>): string =>
  found
    .flatMap((f) => (isProtocol(f) ? [`${f.name}: well-formed (roles ${f.roles.join(", ")})`] : problems(f)))
    .join("\n")

/** `troupe protocol project`: each role's local type, and its state machine with `machines`. */
export const project = (found: ReadonlyArray<Found>, options: { readonly machines?: boolean } = {}): string =>
  found
    .flatMap((f) =>
      isProtocol(f)
        ? [
            f.name,
            ...f.roles.flatMap((role) => [
              `  ${role}: ${LocalType.print(LocalType.project(f, role))}`,
              ...(options.machines
                ? StateMachine.print(StateMachine.of(f, role))
                    .split("\n")
                    .map((line) => `    ${line}`)
                : [])
            ])
          ]
        : problems(f)
    )
    .join("\n")

/** The files `troupe protocol diagram` writes for a protocol, by file name: Mermaid, and optionally HTML and SVG. */
export const diagramFiles = (
  protocol: Choreography.Protocol,
  options: { readonly html?: boolean; readonly svg?: boolean } = {}
): ReadonlyArray<readonly [file: string, contents: string]> => {
  const base = protocol.name.replace(/[^A-Za-z0-9._-]/g, "_")
  const mermaid = Diagram.protocol(protocol)
  return [
    [`${base}.mmd`, `${mermaid}\n`],
    ...(options.html
      ? [
          [
            `${base}.html`,
            SequenceDiagram.html({
              title: protocol.name,
              notes: [`Roles: ${protocol.roles.join(", ")}. Each role's local type:`],
              facts: protocol.roles.map((role) => [role, LocalType.print(LocalType.project(protocol, role))] as const),
              diagrams: [{ mermaid }]
            })
          ] as const
        ]
      : []),
    ...(options.svg ? [[`${base}.svg`, `${SequenceDiagram.svg(mermaid)}\n`] as const] : [])
  ]
}

/** The refused or unchecked definitions among what was found (for reporting them with `check`). */
export const refused = (found: ReadonlyArray<Found>): ReadonlyArray<Choreography.ProtocolDefinitionError | Unchecked> =>
  found.filter((f) => !isProtocol(f))

/** The well-formed protocols among what was found. */
export const wellFormed = (found: ReadonlyArray<Found>): ReadonlyArray<Choreography.Protocol> =>
  found.filter(isProtocol)
