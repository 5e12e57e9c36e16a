/**
 * A session's options that its types do not check all of (from plain JavaScript or a config file), checked before
 * anything is done for the session: step timeouts and a durable session's deadline are durations, `stepTimeouts`
 * names roles of the protocol, `traceLimit` is a whole number of at least 0. Each starter (`Session`,
 * `DurableSession`, `ShardedSession`) fails with {@link InvalidSessionOptions} before it takes a place in line.
 * Then the step timeouts in milliseconds, as the coordinator keeps them.
 */
import type { Choreography } from "@troupe/choreography"
import { Duration, Schema } from "effect"
import { badDuration, durationOf, forms, show } from "../../Durations.ts"

/**
 * A session's option is not what it may be: `option` names it (`stepTimeout`, `stepTimeouts.S`, `traceLimit`,
 * `deadline`), `detail` says what was given and what to give. Nothing was done for the session.
 *
 * @example
 * ```ts
 * yield* Session.run(TwoBuyer, { roles, stepTimeout: "10 sec" }).pipe(
 *   Effect.catchTag("InvalidSessionOptions", (e) => Effect.logError(e.message))
 * )
 * ```
 */
export class InvalidSessionOptions extends Schema.TaggedError<InvalidSessionOptions>()("InvalidSessionOptions", {
  protocol: Schema.String,
  option: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `A session of ${this.protocol} was not started: its option ${this.option} ${this.detail}`
  }
}

/** The options checked here, whichever starter they were given to. */
export interface Checked {
  readonly stepTimeout?: unknown
  readonly stepTimeouts?: unknown
  readonly traceLimit?: unknown
  readonly deadline?: unknown
}

/**
 * The first option of `options` that is not what it may be, as the error to fail with; `undefined` when all are
 * fine. `durable` says whether `deadline` is an option of the starter (a durable or sharded session's: finite).
 *
 * @example
 * ```ts
 * const invalid = invalidOptions(protocol, options, false)
 * if (invalid !== undefined) return Effect.fail(invalid)
 * ```
 */
export const invalidOptions = (
  protocol: Choreography.Protocol,
  options: Checked,
  durable: boolean
): InvalidSessionOptions | undefined => {
  const invalid = (option: string, detail: string) =>
    new InvalidSessionOptions({ protocol: protocol.name, option, detail })
  const step = badDuration([["stepTimeout", options.stepTimeout]])
  if (step !== undefined) return invalid(step.option, `${step.detail}. What to do: ${noLimit}`)
  const perRole = options.stepTimeouts
  if (perRole !== undefined) {
    if (perRole === null || typeof perRole !== "object") {
      return invalid(
        "stepTimeouts",
        `is ${show(perRole)}: expected a record of durations by role. What to do: give e.g. { ${protocol.roles[0]}: "30 seconds" }, or leave it out`
      )
    }
    for (const [role, timeout] of Object.entries(perRole)) {
      if (!protocol.roles.includes(role)) {
        return invalid(
          `stepTimeouts.${role}`,
          `names a role ${protocol.name} does not have. What to do: use one of its roles: ${protocol.roles.join(", ")}`
        )
      }
      const bad = badDuration([[`stepTimeouts.${role}`, timeout]])
      if (bad !== undefined) return invalid(bad.option, `${bad.detail}. What to do: ${noLimit}`)
    }
  }
  const limit = options.traceLimit
  if (limit !== undefined && !(typeof limit === "number" && Number.isSafeInteger(limit) && limit >= 0)) {
    return invalid(
      "traceLimit",
      `is ${show(limit)}: expected a whole number of at least 0. What to do: give how many trace events each role keeps (1000 by default, 0 to record none)`
    )
  }
  if (durable) {
    const deadline = durationOf(options.deadline ?? defaultDeadline)
    if (deadline === undefined || !Duration.isFinite(deadline)) {
      return invalid(
        "deadline",
        `is ${show(options.deadline)}: expected ${forms}, and finite. What to do: give how long a node of the ` +
          `session may be gone before the session fails, e.g. "30 seconds" (the default)`
      )
    }
  }
  return undefined
}

const noLimit = 'give how long a role may wait for its next message, e.g. "30 seconds", or leave it out for no limit'

/** A durable session's deadline when none is given. */
export const defaultDeadline = "30 seconds"

/**
 * A step timeout in milliseconds, `undefined` for none (no timeout, or `Infinity`: a deadline that never comes is
 * none, and is not sent to the roles, whose messages carry numbers that JSON can hold).
 *
 * @example
 * ```ts
 * stepMillisOf("10 seconds") // 10000
 * stepMillisOf("Infinity") // undefined
 * ```
 */
export const stepMillisOf = (timeout: Duration.Input | undefined): number | undefined => {
  if (timeout === undefined) return undefined
  const millis = Duration.toMillis(timeout)
  return Number.isFinite(millis) ? millis : undefined
}

const noTimeouts: Readonly<Record<string, number | undefined>> = {}

/**
 * Each role's step deadline in milliseconds (the same empty record for every session without deadlines); checked
 * before (see `sessionOptions.ts`).
 */
export const stepTimeoutsOf = (
  instance: Choreography.Protocol,
  familyOf: (role: string) => string,
  options: {
    readonly stepTimeout?: Duration.Input
    readonly stepTimeouts?: Readonly<Record<string, Duration.Input | undefined>>
  }
): Readonly<Record<string, number | undefined>> => {
  if (options.stepTimeout === undefined && options.stepTimeouts === undefined) return noTimeouts
  const millis: Record<string, number | undefined> = {}
  for (const role of instance.roles) {
    const timeout = stepMillisOf(options.stepTimeouts?.[familyOf(role)] ?? options.stepTimeout)
    if (timeout !== undefined) millis[role] = timeout
  }
  return millis
}
