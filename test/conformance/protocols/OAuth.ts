/**
 * OAuth (Rumpsteak's o_auth.nuscr): service S lets client C log in or cancel. Authenticator A is
 * outside S's choice and learns it only from C's message (`password` or `quit`), so A's projection
 * needs merging; A then chooses, and S relays A's answer to C.
 */
import { Choreography } from "@troupe/runtime"
import { Schema } from "effect"

export const OAuth = Choreography.makeUnsafe("OAuth", ["S", "C", "A"], ($) => [
  $.choice("S", {
    login: [
      $.message("S", "C", "login", Schema.Number),
      $.message("C", "A", "password", Schema.Number),
      $.choice("A", {
        auth: [$.message("A", "S", "auth", Schema.Number), $.message("S", "C", "auth", Schema.Number)],
        again: [$.message("A", "S", "again", Schema.Number), $.message("S", "C", "again", Schema.Number)]
      })
    ],
    cancel: [$.message("S", "C", "cancel", Schema.Number), $.message("C", "A", "quit", Schema.Number)]
  })
])

/** The local types, written out by hand. */
export const expected = {
  S: "C!{login(number). A?{auth(number). C!auth(number). end, again(number). C!again(number). end}, cancel(number). end}",
  C: "S?{login(number). A!password(number). S?{auth(number). end, again(number). end}, cancel(number). A!quit(number). end}",
  A: "C?{password(number). S!{auth(number). end, again(number). end}, quit(number). end}"
} as const
