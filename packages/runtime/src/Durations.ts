/**
 * Durations given as options, checked where they come in: from plain JavaScript or a config file, `"5 sec0"`, `NaN`
 * or `-1` would otherwise be a defect deep inside (`Duration.fromInputUnsafe` throws) or a timer that fires at once.
 * Each module turns {@link badDuration}'s sentence into its own typed error (`InvalidSystemOptions`,
 * `InvalidClusterOptions`, …); other packages of Troupe use it for theirs.
 *
 * @example
 * ```ts
 * Durations.durationOf("2 seconds") // Duration.seconds(2)
 * Durations.badDuration([["timeout", "2 secs"]]) // { option: "timeout", detail: 'is "2 secs": expected a duration: ...' }
 * Schema.decodeUnknownSync(Durations.Input)(-1) // throws: expected a duration: ...; got -1
 * ```
 */
import { Duration, Option, Schema } from "effect"

/**
 * The forms a duration may take, for error messages.
 *
 * @example
 * ```ts
 * `timeout is ${Durations.show(value)}: expected ${Durations.forms}`
 * ```
 */
export const forms =
  'a duration: a number of milliseconds, a string "<number> <unit>" (e.g. "30 seconds", "2 minutes", "500 millis"; ' +
  'units nanos, micros, millis, seconds, minutes, hours, days, weeks), "Infinity", or a Duration'

/**
 * A value as the user wrote it, for error messages.
 *
 * @example
 * ```ts
 * Durations.show("5 sec0") // '"5 sec0"'
 * Durations.show(Number.NaN) // "NaN"
 * ```
 */
export const show = (u: unknown): string => {
  if (typeof u === "number" || typeof u === "bigint" || u === undefined) return String(u)
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

/**
 * The duration `u` stands for, if it is one an option may take (one `Duration.fromInput` reads, not negative, not
 * `NaN`); `undefined` otherwise.
 *
 * @example
 * ```ts
 * durationOf("2 seconds") // Duration.seconds(2)
 * durationOf("5 sec0") // undefined
 * ```
 */
export const durationOf = (u: unknown): Duration.Duration | undefined => {
  if (typeof u === "number") return Number.isNaN(u) || u < 0 ? undefined : Duration.millis(u)
  if (u === null || u === undefined || typeof u === "boolean") return undefined
  try {
    const duration = Duration.fromInput(u as Duration.Input)
    return Option.isSome(duration) && !Duration.isNegative(duration.value) ? duration.value : undefined
  } catch {
    return undefined
  }
}

/**
 * A duration option as a schema (see {@link durationOf}); a bad one is named with the forms it may take.
 *
 * @example
 * ```ts
 * const Options = Schema.Struct({ timeout: Schema.optional(Durations.Input) })
 * ```
 */
export const Input = Schema.Unknown.check(
  Schema.makeFilter((u: unknown) => durationOf(u) !== undefined || `expected ${forms}; got ${show(u)}`)
)

/**
 * The first of `options` (name, value, whether it must be given) given and not a duration, or missing when it must be
 * given: `{ option, detail }` where `detail` says what it is and the forms it may take; `undefined` when all are fine.
 *
 * @example
 * ```ts
 * badDuration([["within", "5 sec0"]]) // { option: "within", detail: 'is "5 sec0": expected a duration: ...' }
 * ```
 */
export const badDuration = (
  options: ReadonlyArray<readonly [option: string, value: unknown, required?: boolean]>
): { readonly option: string; readonly detail: string } | undefined => {
  for (const [option, value, required] of options) {
    if ((value !== undefined || required === true) && durationOf(value) === undefined) {
      return { option, detail: `is ${show(value)}: expected ${forms}` }
    }
  }
  return undefined
}
