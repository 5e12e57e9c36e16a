/** Protocols shared by the choreography tests. */
import { Schema } from "effect"
import { Choreography } from "../../src/index.ts"

/** Two-Buyer: A and B share the cost of a book sold by S; B decides. */
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

export const Credentials = Schema.Struct({ name: Schema.String, card: Schema.String })

/** A travel agency in a loop: the service's answer and the customer's decision are relayed by the agency. */
export const Travel = Choreography.makeUnsafe("Travel", ["Customer", "Agency", "Service"], ($) => [
  $.loop("Search", [
    $.message("Customer", "Agency", "suggest", Schema.String),
    $.message("Agency", "Service", "query", Schema.String),
    $.choice("Service", {
      available: [
        $.message("Service", "Agency", "available", Schema.Number),
        $.message("Agency", "Customer", "quote", Schema.Number),
        $.choice("Customer", {
          accept: [
            $.message("Customer", "Agency", "accept", Credentials),
            $.message("Agency", "Service", "confirm", Credentials)
          ],
          decline: [
            $.message("Customer", "Agency", "decline", Schema.Void),
            $.message("Agency", "Service", "reject", Schema.Void)
          ]
        })
      ],
      full: [
        $.message("Service", "Agency", "full", Schema.Void),
        $.message("Agency", "Customer", "full", Schema.Void),
        $.continue("Search")
      ]
    })
  ])
])
