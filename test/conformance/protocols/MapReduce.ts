/**
 * Map-Reduce (Rumpsteak's map_reduce.nuscr) with four workers: in each round the server either
 * hands every worker a chunk and collects four partial results, or tells every worker to stop.
 * Workers W2–W4 learn the server's choice from their own message, by merging.
 */
import { Choreography } from "@troupe/runtime"
import { Schema } from "effect"

export const Chunk = Schema.Array(Schema.Number)

export const MapReduce = Choreography.makeUnsafe("MapReduce", ["Server", "W1", "W2", "W3", "W4"], ($) => [
  $.loop("Round", [
    $.choice("Server", {
      workload: [
        $.message("Server", "W1", "workload", Chunk),
        $.message("Server", "W2", "workload", Chunk),
        $.message("Server", "W3", "workload", Chunk),
        $.message("Server", "W4", "workload", Chunk),
        $.message("W1", "Server", "partial", Schema.Number),
        $.message("W2", "Server", "partial", Schema.Number),
        $.message("W3", "Server", "partial", Schema.Number),
        $.message("W4", "Server", "partial", Schema.Number),
        $.continue("Round")
      ],
      terminate: [
        $.message("Server", "W1", "terminate", Schema.Void),
        $.message("Server", "W2", "terminate", Schema.Void),
        $.message("Server", "W3", "terminate", Schema.Void),
        $.message("Server", "W4", "terminate", Schema.Void)
      ]
    })
  ])
])

const worker = "rec Round. Server?{workload(number[]). Server!partial(number). continue Round, terminate(). end}"

/** The local types, written out by hand. */
export const expected = {
  Server:
    "rec Round. W1!{workload(number[]). W2!workload(number[]). W3!workload(number[]). W4!workload(number[]). " +
    "W1?partial(number). W2?partial(number). W3?partial(number). W4?partial(number). continue Round, " +
    "terminate(). W2!terminate(). W3!terminate(). W4!terminate(). end}",
  W1: worker,
  W2: worker,
  W3: worker,
  W4: worker
} as const
