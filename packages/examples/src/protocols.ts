/**
 * The agreement protocols as sessions of actors, with code roles and a person: a review loop (an author
 * and two reviewers, at most three rounds), a negotiation by alternating offers, a sealed-bid auction of
 * three bidders (second price), and an escalation to a person, who also casts a vote in a Decision. The
 * person is played through the node's desk: here a callback answers the questions as they come (in a real
 * deployment a person answers them in the inspector or with `troupe session play`).
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples protocols`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Decision, Protocols, Voter } from "@troupe/agreement"
import { ActorSystem, Desk, HumanRole, Session } from "@troupe/runtime"
import { Effect, Stream } from "effect"

const { Auction, Escalation, Negotiation, Review } = Protocols

/** The author: drafts until every reviewer approves, at most three rounds. */
const author = Session.role(Review, "Author", (ep) =>
  Effect.gen(function* () {
    let round = ep
    for (let n = 1; ; n++) {
      const verdicts = yield* (yield* round.send("Reviewer", "draft", `parser v${n}`)).receive()
      const comments = verdicts.payload.filter((v) => !v.approve).map((v) => v.comment)
      if (comments.length === 0) {
        yield* (yield* verdicts.next.send("Reviewer", "merged")).close()
        return `merged parser v${n} after ${n} rounds`
      }
      if (n === 3) {
        yield* (yield* verdicts.next.send("Reviewer", "abandoned", "three rounds without agreement")).close()
        return "abandoned"
      }
      round = yield* verdicts.next.send("Reviewer", "revise", comments.join("; "))
    }
  })
)

/** A reviewer that asks for `wish` until the draft's version reaches `from`. */
const reviewer = (from: number, wish: string) =>
  Session.role(Review, "Reviewer", (ep) =>
    Effect.gen(function* () {
      let round = ep
      for (;;) {
        const draft = yield* round.receive()
        const approve = Number(draft.payload.slice(draft.payload.indexOf("v") + 1)) >= from
        const outcome = yield* (yield* draft.next.send("Author", "verdict", {
          approve,
          comment: approve ? "ok" : wish
        })).receive()
        if (outcome.label !== "revise") return yield* Effect.as(outcome.next.close(), outcome.label)
        round = outcome.next
      }
    })
  )

/** The buyer offers 50, then meets the seller halfway once. */
const buyer = Session.role(Negotiation, "Buyer", (ep) =>
  Effect.gen(function* () {
    let haggle = yield* ep.send("Seller", "offer", 50)
    for (;;) {
      const answer = yield* haggle.receive()
      if (answer.label !== "counter")
        return yield* Effect.as(answer.next.close(), `${answer.label} ${answer.payload ?? ""}`.trim())
      if (answer.payload <= 60)
        return yield* Effect.as(
          (yield* answer.next.send("Seller", "take", answer.payload)).close(),
          `took ${answer.payload}`
        )
      haggle = yield* answer.next.send("Seller", "offer", Math.round((50 + answer.payload) / 2))
    }
  })
)

/** The seller counters 70, then 60, and deals at any offer of 60 or more. */
const seller = Session.role(Negotiation, "Seller", (ep) =>
  Effect.gen(function* () {
    let offer = yield* ep.receive()
    for (const counter of [70, 60]) {
      if (offer.payload >= 60)
        return yield* Effect.as((yield* offer.next.send("Buyer", "deal", offer.payload)).close(), offer.payload)
      const answer = yield* (yield* offer.next.send("Buyer", "counter", counter)).receive()
      if (answer.label !== "offer")
        return yield* Effect.as(answer.next.close(), answer.label === "take" ? answer.payload : 0)
      offer = answer
    }
    return yield* Effect.as((yield* offer.next.send("Buyer", "walk")).close(), 0)
  })
)

/** Sealed bids: the highest bidder wins and pays the second-highest bid (Vickrey). */
const auctioneer = Session.role(Auction, "Auctioneer", (ep) =>
  Effect.gen(function* () {
    const bids = yield* (yield* ep.send("Bidder", "call", "a first edition of Dune")).receive()
    const sorted = [...bids.payload].sort((a, b) => b - a)
    const winner = bids.payload.indexOf(sorted[0]!)
    yield* (yield* bids.next.send("Bidder", "result", { winner, price: sorted[1] ?? sorted[0]! })).close()
    return `bidder ${winner} wins at ${sorted[1]}`
  })
)

const bidder = (value: number) =>
  Session.role(Auction, "Bidder", (ep, session) =>
    Effect.gen(function* () {
      const call = yield* ep.receive()
      const result = yield* (yield* call.next.send("Auctioneer", "bid", value)).receive()
      yield* result.next.close()
      return result.payload.winner === session.member?.index ? `won, pays ${result.payload.price}` : "lost"
    })
  )

const agent = Session.role(Escalation, "Agent", (ep) =>
  Effect.gen(function* () {
    const answer = yield* (yield* ep.send("Person", "ask", {
      action: "drop table recipes",
      why: "schema migration"
    })).receive()
    yield* answer.next.close()
    return answer.label === "amend" ? `amended: ${answer.payload}` : answer.label
  })
)

/** The person, from code: answers each question on the desk as it comes. */
const person = Effect.gen(function* () {
  const desk = Desk.of(yield* ActorSystem.ActorSystem)
  const changes = yield* desk.changes
  yield* Stream.runForEach(changes, (change) => {
    if (change._tag !== "Asked") return Effect.void
    const { question } = change
    const answer =
      question.kind === "vote"
        ? { vote: "no", reason: "not before the backup exists" }
        : { label: "amend", payload: "rename it to recipes_old instead" }
    return Effect.ignore(desk.answer(question.id, answer, "Ada"))
  })
})

export const main = Effect.gen(function* () {
  yield* Effect.forkScoped(person)
  const spawn = ActorSystem.spawn
  const review = yield* Session.run(Review, {
    roles: {
      Author: yield* spawn(author),
      Reviewer: [yield* spawn(reviewer(2, "handle quoted commas")), yield* spawn(reviewer(1, ""))]
    },
    stepTimeout: "10 seconds"
  })
  console.log(`review: ${review.results.Author}; reviewers saw ${review.results.Reviewer.join(", ")}`)
  const haggle = yield* Session.run(Negotiation, {
    roles: { Buyer: yield* spawn(buyer), Seller: yield* spawn(seller) }
  })
  console.log(`negotiation: the buyer ${haggle.results.Buyer}; the seller got ${haggle.results.Seller}`)
  const auction = yield* Session.run(Auction, {
    roles: {
      Auctioneer: yield* spawn(auctioneer),
      Bidder: [yield* spawn(bidder(30)), yield* spawn(bidder(45)), yield* spawn(bidder(38))]
    }
  })
  console.log(`auction: ${auction.results.Auctioneer}; bidders: ${auction.results.Bidder.join(", ")}`)
  const escalation = yield* Session.run(Escalation, {
    roles: {
      Agent: yield* spawn(agent),
      Person: yield* spawn(Session.role(Escalation, "Person", HumanRole.play({ who: "Ada" })))
    },
    stepTimeout: "1 minute"
  })
  console.log(`escalation: ${escalation.results.Agent}`)
  const vote = yield* Decision.decide({
    proposal: { topic: "migration", choice: "drop table recipes" },
    voters: [
      Voter.make("agent", () => Effect.succeed({ vote: "yes", reason: "faster" })),
      Voter.person({ name: "Ada" })
    ],
    rule: Decision.unanimity,
    deadline: "1 minute"
  })
  console.log(
    `decision: ${vote.accepted ? "accepted" : "rejected"}; ${vote.ballots.map((b) => `${b.voter}: ${b.vote}: ${b.reason}`).join("; ")}`
  )
}).pipe(Effect.scoped)

if (import.meta.main) NodeRuntime.runMain(main.pipe(Effect.provide(ActorSystem.layer())))
