/**
 * The other standard agreement protocols, typed and parameterised (role families: n reviewers, n bidders),
 * ready to run as sessions with LLM roles (`LlmRole.play`), code roles or people (`HumanRole.play`):
 *
 * - {@link Review}: an author and n reviewers, rounds of draft and verdicts until every reviewer approves
 *   or the author gives up (bound the rounds in the author's program, or with `Game.make`'s horizon).
 * - {@link Negotiation}: alternating offers between a buyer and a seller until one accepts or walks away.
 * - {@link Auction}: a sealed-bid auction: the auctioneer calls for bids, each bidder bids once without
 *   seeing the others, the auctioneer tells them all the result (the winner's index and the price).
 * - {@link Escalation}: an agent asks a person (a role played through `HumanRole`, or a callback) to
 *   approve or amend a step it may not take alone.
 *
 * `Decision` and `FanOut` have their own modules, with runners that handle crashed and late voters.
 *
 * @example
 * ```ts
 * const done = yield* Session.run(Protocols.Auction, { roles: { Auctioneer: a, Bidder: [b1, b2, b3] } })
 * ```
 *
 * @since 0.1.0
 */
import { Choreography } from "@troupe/choreography"
import { Schema } from "effect"

/** A reviewer's verdict: approve or request changes, with a comment. */
export const Verdict = Schema.Struct({ approve: Schema.Boolean, comment: Schema.String })

/** Review loop: an author and a family of reviewers. */
export const Review = Choreography.makeUnsafe(
  "Review",
  ["Author", "Reviewer"],
  ($) => [
    $.loop("Round", [
      $.message("Author", "Reviewer", "draft", Schema.String),
      $.message("Reviewer", "Author", "verdict", Verdict),
      $.choice("Author", {
        merged: [$.message("Author", "Reviewer", "merged", Schema.Void)],
        revise: [$.message("Author", "Reviewer", "revise", Schema.String), $.continue("Round")],
        abandoned: [$.message("Author", "Reviewer", "abandoned", Schema.String)]
      })
    ])
  ],
  { families: ["Reviewer"] }
)

/** Negotiation by alternating offers (a price): each side accepts, walks away or counters. */
export const Negotiation = Choreography.makeUnsafe("Negotiation", ["Buyer", "Seller"], ($) => [
  $.message("Buyer", "Seller", "offer", Schema.Number),
  $.loop("Haggle", [
    $.choice("Seller", {
      deal: [$.message("Seller", "Buyer", "deal", Schema.Number)],
      walk: [$.message("Seller", "Buyer", "walk", Schema.Void)],
      counter: [
        $.message("Seller", "Buyer", "counter", Schema.Number),
        $.choice("Buyer", {
          take: [$.message("Buyer", "Seller", "take", Schema.Number)],
          leave: [$.message("Buyer", "Seller", "leave", Schema.Void)],
          offer: [$.message("Buyer", "Seller", "offer", Schema.Number), $.continue("Haggle")]
        })
      ]
    })
  ])
])

/** The result, told to every bidder: the winner's member index (each bidder knows its own) and the price. */
export const Result = Schema.Struct({ winner: Schema.Number, price: Schema.Number })

/** Sealed-bid auction: an auctioneer and a family of bidders. */
export const Auction = Choreography.makeUnsafe(
  "Auction",
  ["Auctioneer", "Bidder"],
  ($) => [
    $.message("Auctioneer", "Bidder", "call", Schema.String),
    $.message("Bidder", "Auctioneer", "bid", Schema.Number),
    $.message("Auctioneer", "Bidder", "result", Result)
  ],
  { families: ["Bidder"] }
)

/** Escalation to a person: the agent asks, the person approves, amends or refuses. */
export const Escalation = Choreography.makeUnsafe("Escalation", ["Agent", "Person"], ($) => [
  $.message("Agent", "Person", "ask", Schema.Struct({ action: Schema.String, why: Schema.String })),
  $.choice("Person", {
    approve: [$.message("Person", "Agent", "approve", Schema.Void)],
    amend: [$.message("Person", "Agent", "amend", Schema.String)],
    refuse: [$.message("Person", "Agent", "refuse", Schema.String)]
  })
])
