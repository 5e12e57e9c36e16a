/** The good protocols of the conformance corpus, with their local types written out by hand. */
import type { Choreography } from "@troupe/runtime"
import * as MapReduce from "./protocols/MapReduce.ts"
import * as OAuth from "./protocols/OAuth.ts"
import * as Ring from "./protocols/Ring.ts"
import * as TravelAgency from "./protocols/TravelAgency.ts"
import * as TwoBuyer from "./protocols/TwoBuyer.ts"

export interface Entry {
  readonly protocol: Choreography.Protocol
  readonly expected: Readonly<Record<string, string>>
}

export const corpus: ReadonlyArray<Entry> = [
  { protocol: TwoBuyer.TwoBuyer, expected: TwoBuyer.expected },
  { protocol: TravelAgency.TravelAgency, expected: TravelAgency.expected },
  { protocol: OAuth.OAuth, expected: OAuth.expected },
  { protocol: MapReduce.MapReduce, expected: MapReduce.expected },
  { protocol: Ring.Ring, expected: Ring.expected }
]
