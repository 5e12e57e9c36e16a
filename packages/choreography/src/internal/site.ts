/**
 * Where in its source file each step of a protocol was written: the builder (`$.message(...)`, `$.choice(...)`,
 * …) notes the place of its caller, so that a problem can say `protocols.ts:12:7`, not only its path in the
 * protocol. The stack is captured one frame deep and read only when a problem is reported; steps copied while
 * checking (renamed includes, family members) keep the place of the step they copy.
 */

/** A place in a source file: its path (or URL, when not a file), line and column from 1. */
export interface Site {
  readonly file: string
  readonly line: number
  readonly column: number
}

/** Something whose `stack` holds the caller's frame (read lazily, formatted by the engine). */
interface Holder {
  stack?: unknown
}

const sites = new WeakMap<object, Holder>()

/** Any function: the builder function whose caller is wanted. */
type Above = (...args: Array<never>) => unknown
type Capture = (holder: Holder, above: Above) => void
const capture: Capture | undefined = (Error as unknown as { captureStackTrace?: Capture }).captureStackTrace

/**
 * The place of the caller of `above` (a builder function), or `undefined` where the engine gives none. One
 * frame is captured: a few hundred nanoseconds.
 */
export const callerOf = (above: Above): Holder | undefined => {
  if (capture === undefined) return undefined
  const holder: Holder = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 1
  try {
    capture(holder, above)
  } finally {
    Error.stackTraceLimit = limit
  }
  return holder
}

/** Notes that `step` was written where `holder` was captured; answers `step`. */
export const noted = <S extends object>(step: S, holder: Holder | undefined): S => {
  if (holder !== undefined) sites.set(step, holder)
  return step
}

/** Notes for `copy` the place of `original`; answers `copy`. */
export const sameSite = <S>(original: object, copy: S): S => {
  const holder = sites.get(original)
  if (holder !== undefined && typeof copy === "object" && copy !== null) sites.set(copy, holder)
  return copy
}

const FRAME = /\(?((?:[a-z][a-z0-9+.-]*:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/i

/** The place a holder captured, if its stack names one. */
export const siteOfHolder = (holder: Holder | undefined): Site | undefined => {
  const stack = holder?.stack
  if (typeof stack !== "string") return undefined
  const frame = stack.split("\n").find((line) => /^\s+at /.test(line))
  const match = frame === undefined ? null : FRAME.exec(frame)
  if (match === null) return undefined
  let file = match[1]!
  if (file.startsWith("file://")) {
    try {
      file = decodeURIComponent(new URL(file).pathname)
    } catch {
      // kept as it is
    }
  }
  return { file, line: Number(match[2]), column: Number(match[3]) }
}

/** Where `step` was written, if it was by the builder (and the engine says). */
export const siteOf = (step: unknown): Site | undefined =>
  typeof step === "object" && step !== null ? siteOfHolder(sites.get(step)) : undefined

/** `file:line:column`. */
export const formatSite = (site: Site): string => `${site.file}:${site.line}:${site.column}`
