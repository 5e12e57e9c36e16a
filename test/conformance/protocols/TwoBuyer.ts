/**
 * Two-Buyer (Honda, Yoshida, Carbone; STScript's TwoBuyer.scr): buyers A and B share the cost of a
 * book sold by S, and B decides. The seller is outside B's choice and learns it from A's message
 * (`buy` or `cancel`), so its projection needs merging.
 */
import { Choreography } from "@troupe/runtime"
import { Schema } from "effect"

export const TwoBuyer = Choreography.makeUnsafe("TwoBuyer", ["A", "B", "S"], ($) => [
  $.message("A", "S", "title", Schema.String),
  $.message("S", "A", "quote", Schema.Number),
  $.message("S", "B", "quote", Schema.Number),
  $.message("A", "B", "split", Schema.Number),
  $.choice("B", {
    accept: [$.message("B", "A", "accept", Schema.Void), $.message("A", "S", "buy", Schema.String)],
    reject: [$.message("B", "A", "reject", Schema.Void), $.message("A", "S", "cancel", Schema.Void)]
  })
])

/** The local types, written out by hand. */
export const expected = {
  A: "S!title(string). S?quote(number). B!split(number). B?{accept(). S!buy(string). end, reject(). S!cancel(). end}",
  B: "S?quote(number). A?split(number). A!{accept(). end, reject(). end}",
  S: "A?title(string). A!quote(number). B!quote(number). A?{buy(string). end, cancel(). end}"
} as const
