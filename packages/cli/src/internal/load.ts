import { existsSync } from "node:fs"
import { isAbsolute, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Data, Effect } from "effect"

/** Importing a module failed: the file is missing, or it threw while loading (`error`). */
export class ImportFailed extends Data.TaggedError("ImportFailed")<{
  readonly module: string
  readonly path: string
  readonly error: unknown
  readonly missing: boolean
}> {}

/**
 * Where a path given on the command line points. Relative paths are taken from the directory the user ran
 * `pnpm troupe` in (pnpm runs scripts in the workspace root and says where it was called from in `INIT_CWD`),
 * otherwise from the current directory.
 */
export const resolvePath = (path: string): string =>
  isAbsolute(path)
    ? path
    : resolve(
        process.env.npm_lifecycle_event === "troupe" ? (process.env.INIT_CWD ?? process.cwd()) : process.cwd(),
        path
      )

/** Imports a module by path; its exports as a record. */
export const importModule = (module: string): Effect.Effect<Readonly<Record<string, unknown>>, ImportFailed> => {
  const path = resolvePath(module)
  if (!existsSync(path)) return Effect.fail(new ImportFailed({ module, path, error: undefined, missing: true }))
  return Effect.tryPromise({
    try: () => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>,
    catch: (error) => new ImportFailed({ module, path, error, missing: false })
  })
}

/** The first line of what an error says, for a one-line report. */
export const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim()
