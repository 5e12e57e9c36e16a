/** The protocol of the two-process session tests: C asks S a number and gets it back plus one. */
import { Choreography, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"

export const Ask = Choreography.makeUnsafe("Ask", ["C", "S"], ($) => [
  $.message("C", "S", "ask", Schema.Number),
  $.message("S", "C", "answer", Schema.Number)
])

export const askClient = Session.role(Ask, "C", (ep) =>
  Effect.gen(function* () {
    const answer = yield* (yield* ep.send("S", "ask", 1)).receive()
    yield* answer.next.close()
    return answer.payload
  })
)

export const askServer = Session.role(Ask, "S", (ep) =>
  Effect.gen(function* () {
    const ask = yield* ep.receive()
    yield* (yield* ask.next.send("C", "answer", ask.payload + 1)).close()
  })
)

/** The nodes' shared secret. */
export const secret = "the session tests' shared secret, long enough"
