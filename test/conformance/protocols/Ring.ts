/**
 * A seven-role ring (Rumpsteak's ring_max.nuscr): each role passes a proposal to the next, and the
 * last closes the ring. No choice; useful for ordering and latency.
 */
import { Choreography } from "@troupe/runtime"
import { Schema } from "effect"

export const Ring = Choreography.makeUnsafe("Ring", ["A", "B", "C", "D", "E", "F", "G"], ($) => [
  $.message("A", "B", "proposalA", Schema.Number),
  $.message("B", "C", "proposalB", Schema.Number),
  $.message("C", "D", "proposalC", Schema.Number),
  $.message("D", "E", "proposalD", Schema.Number),
  $.message("E", "F", "proposalE", Schema.Number),
  $.message("F", "G", "proposalF", Schema.Number),
  $.message("G", "A", "proposalG", Schema.Number)
])

/** The local types, written out by hand. */
export const expected = {
  A: "B!proposalA(number). G?proposalG(number). end",
  B: "A?proposalA(number). C!proposalB(number). end",
  C: "B?proposalB(number). D!proposalC(number). end",
  D: "C?proposalC(number). E!proposalD(number). end",
  E: "D?proposalD(number). F!proposalE(number). end",
  F: "E?proposalE(number). G!proposalF(number). end",
  G: "F?proposalF(number). A!proposalG(number). end"
} as const
