import { execFile } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, isAbsolute, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Data, Effect } from "effect"

/** Where in a file: 1-based line and column. */
export interface Location {
  readonly file: string
  readonly line: number
  readonly column: number
}

/**
 * Importing a module failed: the file is missing, or it (or a module it imports) does not parse, or it threw
 * while loading (`error`). `location` is where, when it can be told.
 */
export class ImportFailed extends Data.TaggedError("ImportFailed")<{
  readonly module: string
  readonly path: string
  readonly error: unknown
  readonly missing: boolean
  readonly location: Location | undefined
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
  if (!existsSync(path)) {
    return Effect.fail(new ImportFailed({ module, path, error: undefined, missing: true, location: undefined }))
  }
  return Effect.tryPromise({
    try: () => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>,
    catch: (error) => error
  }).pipe(
    Effect.catch((error) =>
      Effect.flatMap(
        Effect.promise(() => locate(error, path)),
        (location) => Effect.fail(new ImportFailed({ module, path, error, missing: false, location }))
      )
    )
  )
}

/** The first line of what an error says, for a one-line report. */
export const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim()

/**
 * What a failed import says, in one line, with where it failed:
 * `agents.ts:3:8: SyntaxError: Unexpected token ','`.
 */
export const describeFailure = (failed: ImportFailed): string => {
  if (failed.missing) return `there is no file ${failed.path}`
  const name = failed.error instanceof Error ? failed.error.name : undefined
  const what = name === undefined || name === "Error" ? firstLine(failed.error) : `${name}: ${firstLine(failed.error)}`
  const where = failed.location
  return where === undefined ? what : `${shown(where.file)}:${where.line}:${where.column}: ${what}`
}

/** A path as the user would like to read it: relative to the current directory when inside it. */
const shown = (file: string) => {
  const relativePath = relative(process.cwd(), file)
  return relativePath.startsWith("..") || isAbsolute(relativePath) ? file : relativePath
}

const toPath = (file: string) => (file.startsWith("file://") ? fileURLToPath(file) : file)

/**
 * Where an import failed.
 *
 * - A module that threw while loading: the first frame of its stack in a file of the user's (not Node's, not
 *   a dependency's).
 * - A TypeScript module that does not parse: Node's error starts with `path:line`, then the code with `^` under
 *   the culprit. A JavaScript module that does not parse: V8 keeps the place out of the error, and Node only
 *   prints it for an uncaught error, so the import is tried again in a child Node process (nothing runs:
 *   a module graph that does not parse is not evaluated) and its report is read.
 * - A package or module that is not there: the line of the importing file that names it.
 */
const locate = async (error: unknown, entry: string): Promise<Location | undefined> => {
  if (!(error instanceof Error)) return undefined
  const code = (error as { readonly code?: unknown }).code
  if (code === "ERR_MODULE_NOT_FOUND") return missingImport(error.message)
  if (error.name === "SyntaxError") {
    return fromReport(error.stack ?? "") ?? fromReport(await reportOfChild(entry))
  }
  return fromStack(error.stack ?? "", entry)
}

/**
 * The frame of the stack in the module itself (`at f (file:///x/agents.ts:3:9)`, `at /x/agents.ts:3:9`), or
 * else the first one in a file of the user's (not Node's, not a dependency's).
 */
const fromStack = (stack: string, entry: string): Location | undefined => {
  const frames = [...stack.matchAll(/^\s+at (?:.*? \()?((?:file:\/\/)?\/[^():]+?):(\d+):(\d+)\)?$/gm)].map(
    (match): Location => ({ file: toPath(match[1]!), line: Number(match[2]), column: Number(match[3]) })
  )
  return frames.find((frame) => frame.file === entry) ?? frames.find((frame) => !frame.file.includes("/node_modules/"))
}

/** Node's report of a module that does not parse: `path:line`, the code, and `^` under the culprit. */
const fromReport = (report: string): Location | undefined => {
  const lines = report.split("\n")
  const head = lines.findIndex((line) => /^(?:file:\/\/)?\/.*:\d+$/.test(line))
  if (head === -1) return undefined
  const [, file, line] = /^(.*):(\d+)$/.exec(lines[head]!)!
  const path = toPath(file!)
  const frame = lines.slice(head + 1)
  const caret = frame.slice(0, frame.indexOf("")).findIndex((l) => /^\s*\^+\s*$/.test(l))
  const column =
    caret === -1
      ? // no `^` (an error at the end of the line): the end of that line
        (sourceLine(path, Number(line))?.length ?? 0) + 1
      : lines[head + 1 + caret]!.indexOf("^") + 1
  return { file: path, line: Number(line), column }
}

const sourceLine = (path: string, line: number): string | undefined => {
  try {
    return readFileSync(path, "utf8").split("\n")[line - 1]
  } catch {
    return undefined
  }
}

/** What Node prints when importing `entry` fails uncaught, in a child process of the same Node. */
const reportOfChild = (entry: string): Promise<string> =>
  new Promise((done) => {
    execFile(
      process.execPath,
      ["--input-type=module", "--eval", "await import(process.argv[1])", pathToFileURL(entry).href],
      { timeout: 15_000 },
      (_error, _stdout, stderr) => done(stderr)
    )
  })

/** `Cannot find package 'x' imported from /y/agents.ts`: the line of agents.ts that names `x`. */
const missingImport = (message: string): Location | undefined => {
  const match = /^Cannot find (?:package|module) '([^']+)' imported from (.+)$/m.exec(message)
  if (match === null) return undefined
  const importer = toPath(match[2]!)
  const wanted = match[1]!
  const specifier = isAbsolute(wanted) ? relative(dirname(importer), wanted) : wanted
  let source: ReadonlyArray<string>
  try {
    source = readFileSync(importer, "utf8").split("\n")
  } catch {
    return undefined
  }
  for (const [index, text] of source.entries()) {
    for (const quote of ['"', "'"]) {
      const at = text.search(new RegExp(`${quote}(?:\\./)?${escapeRegExp(specifier)}${quote}`))
      if (at !== -1) return { file: importer, line: index + 1, column: at + 1 }
    }
  }
  return { file: importer, line: 1, column: 1 }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
