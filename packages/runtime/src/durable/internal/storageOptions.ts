/**
 * A storage's options that their types do not check all of (from plain JavaScript or a config file), checked before
 * a database is opened or connected: each is `InvalidStorageOptions` naming the first that is not what it may be.
 * Unchecked, they were a defect (`Duration.toMillis` of `"10 sec"`), a storage built with a lease of `NaN` or 0 ms
 * (PostgreSQL's `idle_in_transaction_session_timeout` is set from it at every write batch: `NaN` is refused there, 0
 * turns the stall guard off), a PostgreSQL layer whose build did not end (`maxConnections: 0`), a timer Node clamps to
 * 1 ms with a warning (a `flushDelay` past 24 days), or a misleading "could not open" (`busyTimeoutMillis: -1`).
 */
import { Duration, Effect, Redacted, Schema } from "effect"
import { durationOf, forms, show } from "../../Durations.ts"
import { InvalidStorageOptions } from "./errors.ts"

/** The longest a Node timer waits (about 24.8 days); PostgreSQL's timeouts are bounded likewise. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

const WholeAtLeast = (minimum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum: MAX_TIMER_MILLIS }))
const isPositiveWhole = Schema.is(WholeAtLeast(1))
const isWhole = Schema.is(WholeAtLeast(0))

/** What may be wrong with one option: a sentence (after "is <value>: ") saying what to give, or `undefined`. */
type Check = (value: unknown) => string | undefined

/** A duration of at most about 24 days, and more than 0 when `positive`. */
const duration =
  (positive: boolean, example: string): Check =>
  (value) => {
    const given = durationOf(value)
    const millis = given === undefined ? Number.NaN : Duration.toMillis(given)
    if (millis <= MAX_TIMER_MILLIS && (!positive || millis > 0)) return undefined
    return `expected ${forms}, ${positive ? "more than 0 and " : ""}at most 24 days. What to do: give e.g. ${example}, or leave it out for the default`
  }

const oneOf =
  (values: ReadonlyArray<unknown>, what: string): Check =>
  (value) =>
    values.includes(value)
      ? undefined
      : `expected ${what}. What to do: give one of them, or leave it out for the default`

const whole =
  (positive: boolean, example: string): Check =>
  (value) =>
    (positive ? isPositiveWhole : isWhole)(value)
      ? undefined
      : `expected a whole number of at least ${positive ? 1 : 0}. What to do: give e.g. ${example}, or leave it out for the default`

const text =
  (what: string): Check =>
  (value) =>
    (typeof value === "string" && value !== "") || (Redacted.isRedacted(value) && Redacted.value(value) !== "")
      ? undefined
      : `expected ${what}. What to do: give it`

/** The options of every storage (`Storage.Options`). */
const common: ReadonlyArray<readonly [string, Check]> = [
  ["flushDelay", duration(false, '"2 millis"')],
  ["nodeLease", duration(true, '"10 seconds"')],
  ["writerConnection", oneOf([true, false], "true or false")]
]

/** The options of a SQLite storage or client (`Storage.SqliteOptions`). */
const sqlite: ReadonlyArray<readonly [string, Check]> = [
  ["filename", text('a file name (or ":memory:")')],
  ["synchronous", oneOf(["normal", "full"], '"normal" or "full"')],
  ["busyTimeoutMillis", whole(false, "5000")]
]

/** The options of a PostgreSQL storage or client (`Storage.PostgresOptions`). */
const postgres: ReadonlyArray<readonly [string, Check]> = [
  ["url", text("a postgres:// URL (a string or a Redacted one)")],
  ["maxConnections", whole(true, "10")],
  ["connectTimeout", duration(true, '"30 seconds"')],
  ["idleTimeout", duration(true, '"10 minutes"')],
  ["applicationName", text("a name")]
]

const required = new Set(["filename", "url"])

/** Which options a layer takes: those of every storage, of its database's client, or both. */
export type Kind = "storage" | "sqlite" | "postgres" | "sqlite storage" | "postgres storage"

const checksOf = (kind: Kind): ReadonlyArray<readonly [string, Check]> =>
  [
    ...(kind === "storage" || kind.endsWith(" storage") ? common : []),
    ...(kind.startsWith("sqlite") ? sqlite : []),
    ...(kind.startsWith("postgres") ? postgres : [])
  ] as const

/**
 * Fails with `InvalidStorageOptions` naming the first option of `options` (of the layer `kind`) that is not what it
 * may be; succeeds with nothing when all are fine.
 *
 * @example
 * ```ts
 * yield* checkOptions("sqlite storage", { filename: "troupe.db", nodeLease: "10 sec" }) // InvalidStorageOptions
 * ```
 */
export const checkOptions = (kind: Kind, options: object): Effect.Effect<void, InvalidStorageOptions> =>
  Effect.suspend(() => {
    const given = options as Readonly<Record<string, unknown>>
    for (const [option, check] of checksOf(kind)) {
      const value = given[option]
      if (value === undefined && !required.has(option)) continue
      const problem = check(value)
      if (problem !== undefined) {
        const shown = Redacted.isRedacted(value) ? "a Redacted value" : show(value)
        return Effect.fail(new InvalidStorageOptions({ option, detail: `is ${shown}: ${problem}` }))
      }
    }
    return Effect.void
  })
