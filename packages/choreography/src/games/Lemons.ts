/**
 * The market for lemons (Akerlof, 1970), as Pact's book-seller protocol: nature draws the book's quality,
 * which only the seller observes; the seller sets a price; the buyer, who sees only the price, accepts or
 * rejects; on a sale the seller delivers the book, and the buyer learns its quality. The parameters are
 * those of docs/agreement.md.
 *
 * @example
 * ```ts
 * const levels = Policy.levelK(Lemons.game, { levels: 4, rationality: 2, anchors: { Seller: Lemons.honestSeller } })
 * Lemons.acceptance(levels[0]!.Buyer!) // [0.73, 0.88, 0.95]: a high price reads as a good book
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Choreography from "../Choreography.ts"
import * as Game from "../Game.ts"
import * as Policy from "../Policy.ts"

/** Qualities 1 (a lemon) to 3 (a peach). */
export const Quality = Schema.Literals([1, 2, 3])
/** Prices 1 to 3, e.g. `Schema.is(Price)(2)`. */
export const Price = Schema.Literals([1, 2, 3])

/** The book-seller protocol. */
export const protocol = Choreography.makeUnsafe("Lemons", ["World", "Seller", "Buyer"], ($) => [
  $.message("World", "Seller", "quality", Quality),
  $.message("Seller", "Buyer", "price", Price),
  $.choice("Buyer", {
    accept: [$.message("Buyer", "Seller", "accept", Schema.Void), $.message("Seller", "Buyer", "book", Quality)],
    reject: [$.message("Buyer", "Seller", "reject", Schema.Void)]
  })
])

/** What a book of quality q is worth to the buyer: `buyerValue(3) === 4.5`. */
export const buyerValue = (q: number): number => 1.5 * q
/** What it costs the seller to part with a book of quality q: `sellerCost(1) === 0.8`. */
export const sellerCost = (q: number): number => 0.8 * q

/**
 * The game: a uniform prior on quality; the seller delivers the book it has; a sale gives the buyer
 * value(quality) − price and the seller price − cost(quality), no sale gives both 0.
 */
export const game: Game.Game = Game.makeUnsafe(protocol, {
  nature: "World",
  priors: {
    quality: [
      [1, 1],
      [2, 1],
      [3, 1]
    ]
  },
  domains: { book: (view) => [view.find((a) => a.label === "quality")?.payload] },
  utilities: {
    Seller: Game.values(protocol, ["quality", "price", "accept"], (o) =>
      o.accept ? o.price! - sellerCost(o.quality!) : 0
    ),
    Buyer: Game.values(protocol, ["price", "book"], (o) => (o.book === undefined ? 0 : buyerValue(o.book) - o.price!))
  }
})

/** The naive model of the seller that a level-0 buyer answers: the price tells the quality (price = quality). */
export const honestSeller: Policy.Anchor = (infoset) => {
  const quality = infoset.view.find((a) => a.label === "quality")?.payload
  return infoset.actions.map((name) => (name === `price(${quality})` ? 1 : 0))
}

/** The buyer's probability of accepting at each price, 1 to 3, under `policy`. */
export const acceptance = (policy: Policy.Policy): ReadonlyArray<number> =>
  [1, 2, 3].map((price) => {
    const infoset = Policy.infosetOf(game, "Buyer", [`price(${price})`])
    return infoset === undefined ? Number.NaN : Object.fromEntries(Policy.at(policy, infoset)).accept!
  })
