/**
 * Travel Agency (STScript's TravelAgency.scr): customer B suggests trips to agency A, which asks
 * service S. S's answer (Available or Full) reaches B only through A, and B's decision (OK or No)
 * reaches S only through A: nested choices relayed through the agent, inside a loop.
 */
import { Choreography } from "@troupe/runtime"
import { Schema } from "effect"

export const Credentials = Schema.Struct({ name: Schema.String, card: Schema.String }).annotate({
  identifier: "Credentials"
})

export const TravelAgency = Choreography.makeUnsafe("TravelAgency", ["B", "A", "S"], ($) => [
  $.loop("Search", [
    $.message("B", "A", "Suggest", Schema.String),
    $.message("A", "S", "Query", Schema.String),
    $.choice("S", {
      Available: [
        $.message("S", "A", "Available", Schema.Number),
        $.message("A", "B", "Quote", Schema.Number),
        $.choice("B", {
          OK: [$.message("B", "A", "OK", Schema.Number), $.message("A", "S", "Confirm", Credentials)],
          No: [$.message("B", "A", "No", Schema.Void), $.message("A", "S", "Reject", Schema.Void)]
        })
      ],
      Full: [$.message("S", "A", "Full", Schema.Void), $.message("A", "B", "Full", Schema.Void), $.continue("Search")]
    })
  ])
])

/** The local types, written out by hand. */
export const expected = {
  B: "rec Search. A!Suggest(string). A?{Quote(number). A!{OK(number). end, No(). end}, Full(). continue Search}",
  A:
    "rec Search. B?Suggest(string). S!Query(string). S?{Available(number). B!Quote(number). " +
    "B?{OK(number). S!Confirm(Credentials). end, No(). S!Reject(). end}, Full(). B!Full(). continue Search}",
  S: "rec Search. A?Query(string). A!{Available(number). A?{Confirm(Credentials). end, Reject(). end}, Full(). continue Search}"
} as const
