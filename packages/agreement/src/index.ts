/**
 * `@troupe/agreement`: agent teams that agree. Standard agreement protocols (decision by vote, fan-out with
 * quorum, review, negotiation, auction, escalation to a person), their runners, and the decision log that
 * later sessions get as context and are held to.
 *
 * @since 0.1.0
 */
/** Decision by vote: a proposal, n voters with reasons, a rule, a deadline; outcomes go to the log. */
export * as Decision from "./Decision.ts"
/** The decision log: in memory or durable; as context for models; refinements that hold later sessions to it. */
export * as DecisionLog from "./DecisionLog.ts"
/** Fan-out / fan-in: n workers, the first answer `quorum` of them agree on, the rest stopped and not paid. */
export * as FanOut from "./FanOut.ts"
/** Review loop, negotiation, sealed-bid auction, escalation to a person: protocols for sessions. */
export * as Protocols from "./Protocols.ts"
/** Solved policies in sessions: play a role, advise a model playing it, watch it for dominated moves; nature's draws. */
export * as Strategy from "./Strategy.ts"
/** Voters: a language model, code, or a person on the desk. */
export * as Voter from "./Voter.ts"
