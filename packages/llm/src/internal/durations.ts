/**
 * Durations given as options, decoded where they come in: from plain JavaScript or a config file, `"5 secs"`,
 * `"five minutes"`, `NaN` or `-1` would otherwise be a defect deep inside (or a timer that fires at once).
 */
import { Durations } from "@troupe/runtime"
import { type Duration, Effect, Schema } from "effect"

/** The forms a duration may take, for error messages. */
export const DURATION_FORMS = Durations.forms

const show = Durations.show

/** Whether `u` is a duration an option may take: one `Duration.fromInput` reads, not negative, not `NaN`. */
export const isDurationInput = (u: unknown): u is Duration.Input => Durations.durationOf(u) !== undefined

/** A duration option (see {@link isDurationInput}); a bad one is named with the forms it may take. */
export const DurationInput = Durations.Input

/**
 * The durations of `options` at `keys`, checked: `undefined` when all are fine or absent, else a sentence naming
 * each bad one (as `where.key`), what it was and the forms it may take.
 */
export const badDurations = <O extends object>(
  where: string,
  options: O | undefined,
  keys: ReadonlyArray<keyof O & string>
): string | undefined => {
  const optionAt = (key: string): unknown => (options === undefined ? undefined : Reflect.get(options, key))
  const bad = keys.filter((key) => optionAt(key) !== undefined && !isDurationInput(optionAt(key)))
  return bad.length === 0
    ? undefined
    : `${bad.map((key) => `${where}${key} is ${show(optionAt(key))}`).join(", ")}: expected ${DURATION_FORMS}`
}

const Timeouts = Schema.Struct({
  connect: Schema.optional(DurationInput),
  firstEvent: Schema.optional(DurationInput),
  idle: Schema.optional(DurationInput),
  attempt: Schema.optional(DurationInput),
  overall: Schema.optional(DurationInput)
})

/** The durations of a language model's options (`timeouts`), checked; a bad one is a `SchemaError` naming it. */
export const checkTimeouts = <A>(options: A): Effect.Effect<A, Schema.SchemaError> =>
  Effect.as(
    Schema.decodeUnknownEffect(Schema.Struct({ timeouts: Schema.optional(Timeouts) }), { errors: "all" })(
      options ?? {}
    ),
    options
  )
