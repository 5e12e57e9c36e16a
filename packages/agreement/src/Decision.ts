/**
 * Decision: a proposer puts a proposal to n voters; each votes yes or no with a reason; a rule chosen when
 * the vote starts (majority, unanimity, a quorum of k) settles it; the outcome and every reason go to the
 * {@link DecisionLog}, which later sessions receive as context.
 *
 * The vote follows the protocol {@link protocol} (a proposer and a family of voters: `propose` to all,
 * a `ballot` from each, the `outcome` to all): every move is checked by the role's monitor, and the run
 * leaves a trace that `Diagram.trace` draws. A voter that fails, crashes or misses the deadline does not
 * hang the vote: the runtime casts its ballot as `absent`, with why, and the rule says how absence counts
 * (`absent: "abstain"`, the default, or `"against"`). With `earlyStop`, the vote ends as soon as the
 * ballots still out cannot change the outcome: those voters are interrupted (their model calls end
 * unfinished and are not paid) and their ballots cast `absent`.
 *
 * @example
 * ```ts
 * const outcome = yield* Decision.decide({
 *   proposal: { topic: "storage", choice: "SQLite", rationale: "one file, no server" },
 *   voters: [Voter.llm({ name: "backend", system: "You own the backend." }), Voter.make("qa", () => Effect.succeed({ vote: "yes", reason: "easy to test" }))],
 *   rule: Decision.majority,
 *   deadline: "1 minute"
 * })
 * outcome.accepted // true
 * ```
 *
 * @since 0.1.0
 */
import { Choreography, type Diagram } from "@troupe/choreography"
import { Durations } from "@troupe/runtime"
import { Cause, Clock, Deferred, Duration, Effect, Fiber, Schema } from "effect"
import * as DecisionLog from "./DecisionLog.ts"
import { conversation, describeCause } from "./internal/conversation.ts"
import type { Voter } from "./Voter.ts"

/** What is put to the vote: a choice on a topic (`storage: SQLite`), and why. */
export const Proposal = Schema.Struct({
  topic: Schema.String,
  choice: Schema.String,
  rationale: Schema.optionalKey(Schema.String)
})
export type Proposal = typeof Proposal.Type

/** A voter's ballot: `absent` is cast by the runtime for a voter that failed, timed out or was stopped early. */
export const Ballot = Schema.Struct({
  vote: Schema.Literals(["yes", "no", "absent"]),
  reason: Schema.String
})
export type Ballot = typeof Ballot.Type

/** What a voter answers: yes or no, and why. */
export const Answer = Schema.Struct({ vote: Schema.Literals(["yes", "no"]), reason: Schema.String })
export type Answer = typeof Answer.Type

/** How the ballots settle a vote. */
export type Rule =
  | { readonly _tag: "Majority" }
  | { readonly _tag: "Unanimity" }
  | { readonly _tag: "Quorum"; readonly k: number }

/** More yes than no among the votes that count. */
export const majority: Rule = { _tag: "Majority" }
/** Every vote that counts is yes (and at least one). */
export const unanimity: Rule = { _tag: "Unanimity" }
/** At least `k` yes. */
export const quorum = (k: number): Rule => ({ _tag: "Quorum", k })

/** The outcome told to every voter, and logged. */
export const Outcome = Schema.Struct({
  topic: Schema.String,
  choice: Schema.String,
  accepted: Schema.Boolean,
  yes: Schema.Number,
  no: Schema.Number,
  absent: Schema.Number
})
export type Outcome = typeof Outcome.Type

/** The Decision protocol: a proposer and a family of voters. */
export const protocol = Choreography.makeUnsafe(
  "Decision",
  ["Proposer", "Voter"],
  ($) => [
    $.message("Proposer", "Voter", "propose", Proposal),
    $.message("Voter", "Proposer", "ballot", Ballot),
    $.message("Proposer", "Voter", "outcome", Outcome)
  ],
  { families: ["Voter"] }
)

/** A rule that cannot be applied to this many voters (a quorum larger than the electorate, say). */
export class InvalidRule extends Schema.TaggedError<InvalidRule>()("InvalidRule", {
  rule: Schema.String,
  voters: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `The rule ${this.rule} cannot settle a vote of ${this.voters} voters: ${this.reason}`
  }
}

/**
 * An option of {@link decide} has a value it cannot take (from plain JavaScript or a config file): which one, what it
 * is and what it may be. Nothing was asked of the voters.
 *
 * @example
 * ```ts
 * Decision.decide({ proposal, voters, rule: Decision.majority, deadline: "30 sec" }) // fails: InvalidDecision
 * ```
 */
export class InvalidDecision extends Schema.TaggedError<InvalidDecision>()("InvalidDecision", {
  option: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `The decision's option ${this.option} ${this.detail}`
  }
}

/** Options of {@link decide}. */
export interface Options<R> {
  readonly proposal: Proposal
  readonly voters: ReadonlyArray<Voter<R>>
  readonly rule: Rule
  /** How long the voters have; a voter still deliberating then is absent. No limit by default. */
  readonly deadline?: Duration.Input | undefined
  /** How an absent voter counts: as an abstention (not counted, the default) or as a no. */
  readonly absent?: "abstain" | "against" | undefined
  /** End the vote as soon as the outcome cannot change, interrupting the voters still out. Default false. */
  readonly earlyStop?: boolean | undefined
  /** Who proposes, as the log records it. Default `"proposer"`. */
  readonly proposer?: string | undefined
}

/** What a vote decided, with every ballot in voter order and the trace of its messages. */
export interface Decided extends Outcome {
  readonly rule: string
  readonly ballots: ReadonlyArray<{ readonly voter: string } & Ballot>
  /** The log entry, when a {@link DecisionLog} was in context. */
  readonly entry: DecisionLog.Entry | undefined
  readonly trace: ReadonlyArray<Diagram.TraceEvent>
  readonly millis: number
}

/** `majority`, `unanimity`, `quorum 2 of 3`. */
export const describeRule = (rule: Rule, voters: number): string =>
  rule._tag === "Quorum" ? `quorum ${rule.k} of ${voters}` : rule._tag.toLowerCase()

/**
 * Whether the ballots settle the vote: `true` or `false` once they do whatever the `open` ballots still
 * out turn out to be, `undefined` while they could still change it.
 */
export const settle = (
  rule: Rule,
  counts: { readonly yes: number; readonly no: number; readonly absent: number },
  open: number,
  absent: "abstain" | "against"
): boolean | undefined => {
  const judge = (yes: number, no: number, gone: number) => {
    const against = no + (absent === "against" ? gone : 0)
    switch (rule._tag) {
      case "Majority":
        return yes > against
      case "Unanimity":
        return yes > 0 && against === 0
      case "Quorum":
        return yes >= rule.k
    }
  }
  const { yes, no, absent: gone } = counts
  const best = judge(yes + open, no, gone)
  const worst = judge(yes, no + open, gone)
  return best === worst ? best : undefined
}

/**
 * Runs a vote (see the module documentation). Voters deliberate concurrently; the runtime casts an
 * `absent` ballot for any that fails, dies, misses the deadline or is stopped early. With a
 * {@link DecisionLog} in context, each voter gets the log as context and the outcome is appended to it.
 */
export const decide = <R>(
  options: Options<R>
): Effect.Effect<Decided, InvalidRule | InvalidDecision | DecisionLog.DecisionLogError, R> =>
  Effect.gen(function* () {
    const n = options.voters.length
    const ruleName = describeRule(options.rule, n)
    if (n === 0) return yield* new InvalidRule({ rule: ruleName, voters: 0, reason: "there is no voter" })
    if (
      options.rule._tag === "Quorum" &&
      !(Number.isInteger(options.rule.k) && options.rule.k >= 1 && options.rule.k <= n)
    )
      return yield* new InvalidRule({ rule: ruleName, voters: n, reason: `k must be a whole number from 1 to ${n}` })
    const bad = Durations.badDuration([["deadline", options.deadline]])
    if (bad !== undefined) return yield* new InvalidDecision({ option: bad.option, detail: bad.detail })
    const started = yield* Clock.currentTimeMillis
    const absent = options.absent ?? "abstain"
    const instance = Choreography.instantiateSync(protocol, { Voter: n })
    if (instance._tag !== "Protocol") return yield* Effect.die(instance)
    const session = `decision-${options.proposal.topic}-${started}`
    const log = yield* Effect.serviceOption(DecisionLog.DecisionLog)
    const context = log._tag === "Some" ? yield* log.value.entries : []
    const members = options.voters.map((_, i) => `Voter[${i}]`)
    const { move, trace } = conversation(instance, session)
    for (const m of members) move("Proposer", m, "propose", options.proposal)

    const ballots: Array<Ballot | undefined> = members.map(() => undefined)
    const counts = { yes: 0, no: 0, absent: 0 }
    const settled = yield* Deferred.make<void>()
    let open = n
    const cast = (i: number, ballot: Ballot) =>
      Effect.sync(() => {
        if (ballots[i] !== undefined) return
        ballots[i] = ballot
        counts[ballot.vote]++
        open--
        if (open === 0 || (options.earlyStop === true && settle(options.rule, counts, open, absent) !== undefined))
          Deferred.doneUnsafe(settled, Effect.void)
      })
    const deadline = options.deadline === undefined ? undefined : Durations.durationOf(options.deadline)
    const fibers = yield* Effect.forEach(options.voters, (voter, i) => {
      const deliberate = voter.vote({ proposal: options.proposal, rule: ruleName, log: context })
      const timed =
        deadline === undefined
          ? deliberate
          : Effect.timeoutOrElse(deliberate, {
              duration: deadline,
              orElse: () =>
                Effect.succeed<Ballot>({ vote: "absent", reason: `did not vote within ${Duration.format(deadline)}` })
            })
      return timed.pipe(
        Effect.flatMap((answer) =>
          answer.vote === "absent" ? Effect.succeed(answer) : Schema.decodeUnknownEffect(Answer)(answer)
        ),
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.interrupt
            : Effect.succeed<Ballot>({ vote: "absent", reason: `failed: ${describeCause(cause)}` })
        ),
        Effect.flatMap((ballot) => cast(i, ballot)),
        Effect.forkChild({ startImmediately: true })
      )
    })
    yield* Deferred.await(settled)
    yield* Fiber.interruptAll(fibers)
    for (let i = 0; i < n; i++)
      if (ballots[i] === undefined) {
        ballots[i] = { vote: "absent", reason: "stopped early: the outcome was settled without this ballot" }
        counts.absent++
      }
    const accepted = settle(options.rule, counts, 0, absent) === true
    for (let i = 0; i < n; i++) move(members[i]!, "Proposer", "ballot", ballots[i])
    const outcome: Outcome = { topic: options.proposal.topic, choice: options.proposal.choice, accepted, ...counts }
    for (const m of members) move("Proposer", m, "outcome", outcome)
    const named = options.voters.map((voter, i) => ({ voter: voter.name, ...ballots[i]! }))
    const entry =
      log._tag === "Some"
        ? yield* log.value.append({
            ...outcome,
            rationale: options.proposal.rationale,
            proposer: options.proposer ?? "proposer",
            rule: ruleName,
            ballots: named
          })
        : undefined
    const ended = yield* Clock.currentTimeMillis
    return { ...outcome, rule: ruleName, ballots: named, entry, trace, millis: ended - started }
  })
