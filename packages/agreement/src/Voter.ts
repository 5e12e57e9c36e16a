/**
 * Voters: who votes in a `Decision` is a language model ({@link llm}), code ({@link make}) or a person
 * ({@link person}: escalation to a human, on the node's desk, answered in the inspector, a terminal or from
 * code; there must be an actor system in context). Each gets the proposal, the rule and the decision log so far.
 *
 * @example
 * ```ts
 * const voters = [
 *   Voter.llm({ name: "backend", system: "You own the backend; you favour boring technology." }),
 *   Voter.make("ci", ({ proposal }) => Effect.succeed({ vote: "yes", reason: `${proposal.choice} runs in CI` })),
 *   Voter.person({ name: "lead", who: "Ada" })
 * ]
 * ```
 *
 * @since 0.1.0
 */
import { LanguageModel } from "@troupe/llm"
import { Desk } from "@troupe/runtime"
import { Effect, Schema } from "effect"
import type { Answer, Proposal } from "./Decision.ts"
import * as Decision from "./Decision.ts"
import * as DecisionLog from "./DecisionLog.ts"

/** What a voter is asked. */
export interface Request {
  readonly proposal: Proposal
  /** The rule, e.g. `majority`, `quorum 2 of 3`. */
  readonly rule: string
  /** The decision log so far (empty without a log in context). */
  readonly log: ReadonlyArray<DecisionLog.Entry>
}

/** A voter: a name, and how it votes (any Effect; a failure or defect is cast as an `absent` ballot). */
export interface Voter<R = never> {
  readonly name: string
  readonly vote: (request: Request) => Effect.Effect<Answer, unknown, R>
}

/** A voter played by code. */
export const make = <R = never>(
  name: string,
  vote: (request: Request) => Effect.Effect<Answer, unknown, R>
): Voter<R> => ({
  name,
  vote
})

/** The log as text, once per vote (every voter of a vote gets the same log). */
const described = new WeakMap<ReadonlyArray<DecisionLog.Entry>, string>()

/** The question a model or a person reads. */
export const question = (request: Request): string => {
  let log = described.get(request.log)
  if (log === undefined) described.set(request.log, (log = DecisionLog.describe(request.log)))
  return [
    `Proposal on "${request.proposal.topic}": ${request.proposal.choice}.`,
    ...(request.proposal.rationale === undefined ? [] : [`Rationale: ${request.proposal.rationale}`]),
    `The vote is decided by ${request.rule}.`,
    log,
    'Vote "yes" or "no", with a one-sentence reason.'
  ].join("\n")
}

/** Options of {@link llm}. */
export interface LlmOptions {
  readonly name: string
  /** Who the voter is, what it cares about. */
  readonly system: string
  /** The model, when not the layer's default. */
  readonly model?: string | undefined
}

/** A voter played by the language model in context: it answers `{ vote, reason }` as structured output. */
export const llm = (options: LlmOptions): Voter<LanguageModel.LanguageModel> => ({
  name: options.name,
  vote: (request) =>
    Effect.map(
      LanguageModel.generateObject({
        system: `${options.system}\nYou are ${options.name}, a voter in your team's decision.`,
        prompt: question(request),
        model: options.model,
        schema: Decision.Answer,
        name: "ballot"
      }),
      (answer) => answer.value
    )
})

/** Options of {@link person}. */
export interface PersonOptions {
  readonly name: string
  /** Who answers, as the question shows it. Default the name. */
  readonly who?: string | undefined
}

/**
 * A voter played by a person: the vote is a question of kind `"vote"` on the desk of the actor system in
 * context (detail `{ who, question, proposal, rule }`), answered `{ vote: "yes" | "no", reason }`; a wrong
 * answer is refused and the question stays open. Give the vote a deadline: a person who does not answer in
 * time is absent, and the question withdrawn.
 */
export const person = (options: PersonOptions): Voter => ({
  name: options.name,
  vote: (request) =>
    Effect.map(
      Desk.ask({
        kind: "vote",
        title: `${options.who ?? options.name}'s vote on ${request.proposal.topic}: ${request.proposal.choice}`,
        detail: {
          who: options.who ?? options.name,
          question: question(request),
          proposal: request.proposal,
          rule: request.rule
        },
        check: (answer) =>
          Schema.decodeUnknownEffect(Decision.Answer)(answer).pipe(
            Effect.mapError((e) => `answer { "vote": "yes" | "no", "reason": "…" }: ${e.message}`)
          )
      }),
      (answered) => answered.value
    )
})
