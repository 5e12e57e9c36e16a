/**
 * Supervision, after OTP: a parent supervises its children with a strategy.
 *
 * - **What is restarted**: `oneForOne` restarts the failed child; `oneForAll` stops every child (in reverse
 *   start order) and restarts them all (in start order); `restForOne` does that for the failed child and
 *   the children started after it.
 * - **Children** are `permanent` (always restarted, even after stopping themselves), `transient`
 *   (restarted only after a failure; the default) or `temporary` (never restarted).
 * - **Restart budget**: at most `maxRestarts` restarts within `within`. When it is spent, the supervisor
 *   stops all its children and escalates to its own parent.
 * - **Backoff**: consecutive restarts of a child wait `min · 2^(n-1)` (capped by `max`, ± `jitter`); the
 *   first restart is immediate, and the count resets after `resetAfter` without a restart. Messages sent
 *   during the wait stay in the child's mailbox.
 * - **Decider**: chooses per failure (typed failures and defects alike) whether to `restart`, `resume`
 *   (keep the state, go on with the next message), `stop` or `escalate`.
 *
 * On restart the child's scope is closed (its resources released), its children stopped, its timers
 * cancelled and its state initialised again; its ref and mailbox stay the same.
 *
 * @example
 * ```ts
 * const strategy = Supervisor.oneForAll({
 *   maxRestarts: 3,
 *   within: "10 seconds",
 *   backoff: Supervisor.backoff({ min: "100 millis", max: "5 seconds" }),
 *   decider: Supervisor.decider({ onDefect: () => "stop" })
 * })
 * ```
 */
import { Cause, Duration, Effect, Schema } from "effect"
import type { Behavior } from "./Behavior.ts"
import * as Behaviors from "./Behavior.ts"
import { badDuration } from "./Durations.ts"
import * as Protocol from "./Protocol.ts"

/** What a supervisor does with a failed child. */
export type Directive = "restart" | "resume" | "stop" | "escalate"

/** When a child is restarted: always, only after a failure, or never. */
export type RestartPolicy = "permanent" | "transient" | "temporary"

/** Which children a failure restarts. */
export type Kind = "one-for-one" | "one-for-all" | "rest-for-one"

/** Exponential backoff between consecutive restarts of a child. */
export interface Backoff {
  readonly min: Duration.Duration
  readonly max: Duration.Duration
  /** Random factor in [0, 1]: each delay is multiplied by a random number in [1 - jitter, 1 + jitter]. */
  readonly jitter: number
  /** A child that has not restarted for this long starts again from no delay. */
  readonly resetAfter: Duration.Duration
}

/** A supervision strategy. */
export interface Strategy {
  readonly kind: Kind
  readonly maxRestarts: number
  readonly within: Duration.Duration
  readonly backoff: Backoff | undefined
  readonly decider: (cause: Cause.Cause<unknown>) => Directive
}

/** Options for a strategy; every field has a default. */
export interface StrategyOptions {
  /** Default 5. */
  readonly maxRestarts?: number
  /** Default 30 seconds. */
  readonly within?: Duration.Input
  /** Default {@link defaultBackoff}; `false` restarts at once, always. */
  readonly backoff?: Backoff | false
  /** Default: restart on every failure. */
  readonly decider?: (cause: Cause.Cause<unknown>) => Directive
}

/**
 * An option of a strategy or a backoff has a value it cannot take (from plain JavaScript or a config file): thrown
 * by {@link backoff} and the strategies ({@link oneForOne}…) where they are made, naming the option and what it may be.
 *
 * @example
 * ```ts
 * try {
 *   Supervisor.oneForOne({ within: "10 sec" })
 * } catch (error) {
 *   if (error instanceof Supervisor.InvalidStrategy) console.error(error.message) // ... option within is "10 sec": ...
 * }
 * ```
 */
export class InvalidStrategy extends Schema.TaggedError<InvalidStrategy>()("InvalidStrategy", {
  option: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The supervision option ${this.option} ${this.detail}`
  }
}

/** Throws {@link InvalidStrategy} for the first of `options` that is given and not a duration. */
const checkDurations = (options: ReadonlyArray<readonly [string, unknown, boolean?]>): void => {
  const bad = badDuration(options)
  if (bad !== undefined) throw new InvalidStrategy(bad)
}

/**
 * Backoff between restarts. Throws {@link InvalidStrategy} for an option it cannot take.
 *
 * @example
 * ```ts
 * Supervisor.backoff({ min: "200 millis", max: "10 seconds", jitter: 0.2 })
 * ```
 */
export const backoff = (options: {
  readonly min: Duration.Input
  readonly max: Duration.Input
  readonly jitter?: number
  readonly resetAfter?: Duration.Input
}): Backoff => {
  const jitter = options.jitter ?? 0.2
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new InvalidStrategy({
      option: "backoff.jitter",
      detail: `is ${jitter}: expected a number from 0 to 1, e.g. 0.2`
    })
  }
  checkDurations([
    ["backoff.min", options.min, true],
    ["backoff.max", options.max, true],
    ["backoff.resetAfter", options.resetAfter]
  ])
  const min = Duration.fromInputUnsafe(options.min)
  const max = Duration.fromInputUnsafe(options.max)
  return {
    min,
    max,
    jitter,
    resetAfter: options.resetAfter === undefined ? Duration.times(max, 2) : Duration.fromInputUnsafe(options.resetAfter)
  }
}

/** The default backoff: 100 ms doubling up to 10 s, ±20 %, reset after 20 s without a restart. */
export const defaultBackoff: Backoff = backoff({ min: "100 millis", max: "10 seconds" })

const strategy =
  (kind: Kind) =>
  (options: StrategyOptions = {}): Strategy => {
    const maxRestarts = options.maxRestarts ?? 5
    if (!Number.isInteger(maxRestarts) || maxRestarts < 0) {
      throw new InvalidStrategy({
        option: "maxRestarts",
        detail: `is ${maxRestarts}: expected a whole number from 0, e.g. 5`
      })
    }
    checkDurations([["within", options.within]])
    return {
      kind,
      maxRestarts,
      within: Duration.fromInputUnsafe(options.within ?? "30 seconds"),
      backoff: options.backoff === false ? undefined : (options.backoff ?? defaultBackoff),
      decider: options.decider ?? (() => "restart")
    }
  }

/** Restart only the failed child. */
export const oneForOne: (options?: StrategyOptions) => Strategy = strategy("one-for-one")

/** Restart every child when one fails. */
export const oneForAll: (options?: StrategyOptions) => Strategy = strategy("one-for-all")

/** Restart the failed child and every child started after it. */
export const restForOne: (options?: StrategyOptions) => Strategy = strategy("rest-for-one")

/** The strategy used when none is given: one-for-one, 5 restarts in 30 s, default backoff. */
export const defaultStrategy: Strategy = oneForOne()

/**
 * A decider from two functions: one for typed failures (the error value) and one for defects (the thrown
 * value). Either defaults to `"restart"`. Interruptions restart.
 */
export const decider =
  (cases: { readonly onFailure?: (error: unknown) => Directive; readonly onDefect?: (defect: unknown) => Directive }) =>
  (cause: Cause.Cause<unknown>): Directive => {
    for (const reason of cause.reasons) {
      if (Cause.isFailReason(reason)) return cases.onFailure?.(reason.error) ?? "restart"
      if (Cause.isDieReason(reason)) return cases.onDefect?.(reason.defect) ?? "restart"
    }
    return "restart"
  }

/** The delay before restart number `consecutive` (0 = first restart, which is immediate). */
export const delayMillis = (policy: Backoff | undefined, consecutive: number, random: number): number => {
  if (policy === undefined || consecutive === 0) return 0
  const min = Duration.toMillis(policy.min)
  const base = Math.min(Duration.toMillis(policy.max), min * 2 ** (consecutive - 1))
  return Math.max(0, Math.round(base * (1 + policy.jitter * (2 * random - 1))))
}

/** A supervisor spent its restart budget; it stopped its children and failed with this error. */
export class RestartBudgetExhausted extends Schema.TaggedError<RestartBudgetExhausted>()("RestartBudgetExhausted", {
  supervisor: Schema.String,
  child: Schema.String,
  maxRestarts: Schema.Number,
  withinMillis: Schema.Number,
  cause: Schema.String
}) {
  override get message() {
    return `${this.supervisor} exceeded ${this.maxRestarts} restarts within ${this.withinMillis} ms; last failure of ${this.child}: ${this.cause}`
  }
}

/** A supervisor's decider escalated a child's failure; the supervisor failed with this error. */
export class ChildFailureEscalated extends Schema.TaggedError<ChildFailureEscalated>()("ChildFailureEscalated", {
  supervisor: Schema.String,
  child: Schema.String,
  cause: Schema.String
}) {
  override get message() {
    return `${this.supervisor} escalated the failure of ${this.child}: ${this.cause}`
  }
}

/** A permanent child stopped itself; its supervisor restarts it, as OTP does, and counts it as a restart. */
export class StoppedItself extends Schema.TaggedError<StoppedItself>()("StoppedItself", { path: Schema.String }) {
  override get message() {
    return `${this.path} is permanent and stopped itself`
  }
}

/** A child of a pure supervisor: its behaviour and how it is spawned. `R` is what the behaviour needs. */
export interface ChildSpec<R = never> {
  readonly name: string
  readonly behavior: Behavior<Protocol.Any, unknown, R>
  readonly restart?: RestartPolicy
  readonly mailbox?: import("./Mailbox.ts").Config
  readonly shutdownTimeout?: Duration.Input
}

/** A child spec with its behaviour's type erased, for lists of children of different protocols. */
export const child = <P extends Protocol.Any, S, R = never>(
  name: string,
  behavior: Behavior<P, S, R>,
  options: Omit<ChildSpec, "name" | "behavior"> = {}
): ChildSpec<R> => ({ ...options, name, behavior: behavior as unknown as Behavior<Protocol.Any, unknown, R> })

/** The protocol of a pure supervisor: it answers with the paths of its live children, in start order. */
export const SupervisorProtocol = Protocol.make("Supervisor", {
  Children: Protocol.request({}, { success: Schema.Array(Schema.String) })
})

/**
 * A pure supervisor, as in OTP: it starts `children` in order when it starts (and after its own restart),
 * supervises them with `strategy`, and stops them in reverse order when it stops.
 *
 * @example
 * ```ts
 * const tree = Supervisor.make({
 *   strategy: Supervisor.restForOne({ maxRestarts: 3, within: "5 seconds" }),
 *   children: [Supervisor.child("db", db, { restart: "permanent" }), Supervisor.child("api", api)]
 * })
 * const root = yield* ActorSystem.spawn(tree, { name: "app" })
 * ```
 */
export const make = <R = never>(options: {
  readonly strategy: Strategy
  readonly children: ReadonlyArray<ChildSpec<R>>
}): Behavior<typeof SupervisorProtocol, null, R> =>
  Behaviors.make(SupervisorProtocol, {
    supervision: options.strategy,
    init: (ctx) =>
      Effect.as(
        Effect.forEach(options.children, ({ behavior, ...spawnOptions }) => ctx.spawn(behavior, spawnOptions), {
          discard: true
        }),
        null
      ),
    receive: {
      Children: (state, _, ctx) => Effect.succeed({ state, reply: ctx.children.map((ref) => ref.path) })
    }
  })
