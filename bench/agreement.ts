/**
 * Agreement (issue 15): a Decision vote of 3, 10 and 100 LLM voters on the scripted model, in milliseconds
 * per vote (the runtime's overhead: the scripted model answers at once); the level-k solver on the market for
 * lemons at level 5.
 */
import { Decision, DecisionLog, Voter } from "@troupe/agreement"
import { Lemons, Policy } from "@troupe/choreography"
import { ScriptedModel, Turn } from "@troupe/llm"
import { Effect } from "effect"
import { type Case, type Figure, median } from "./support.ts"

const votes = async (n: number, rounds: number): Promise<number> => {
  const voters = Array.from({ length: n }, (_, i) => Voter.llm({ name: `v${i}`, system: "You vote." }))
  const model = ScriptedModel.layer(() => Turn.object({ vote: "yes", reason: "fine" }), { record: false })
  return Effect.runPromise(
    Effect.gen(function* () {
      const times: Array<number> = []
      for (let r = 0; r < rounds + 3; r++) {
        // Each vote with a log of one earlier decision (its voters read it), as in a team's second vote.
        const vote = Effect.gen(function* () {
          yield* Decision.decide({ proposal: { topic: "storage", choice: "SQLite" }, voters, rule: Decision.majority })
          const start = performance.now()
          yield* Decision.decide({
            proposal: { topic: "library", choice: "drizzle-orm" },
            voters,
            rule: Decision.majority,
            deadline: "1 minute"
          })
          return performance.now() - start
        })
        const took = yield* Effect.provide(vote, DecisionLog.layerMemory())
        if (r >= 3) times.push(took)
      }
      return median(times)
    }).pipe(Effect.provide(model))
  )
}

const solve = (rounds = 21): number => {
  const times: Array<number> = []
  for (let r = 0; r < rounds + 3; r++) {
    const start = performance.now()
    Policy.levelK(Lemons.game, { levels: 5, rationality: 1, anchors: { Seller: Lemons.honestSeller } })
    if (r >= 3) times.push(performance.now() - start)
  }
  return median(times)
}

export const figures = async (): Promise<ReadonlyArray<Figure>> => [
  { name: "decision_session_ms_3", value: await votes(3, 41), unit: "ms" },
  { name: "decision_session_ms_10", value: await votes(10, 41), unit: "ms" },
  { name: "decision_session_ms_100", value: await votes(100, 21), unit: "ms", goal: { atMost: 50 } },
  { name: "lemons_solve_ms", value: solve(), unit: "ms", goal: { atMost: 100 } }
]

export const cases: ReadonlyArray<Case> = [{ name: "agreement", run: figures }]
