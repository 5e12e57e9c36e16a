import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Decision, DecisionLog, Voter } from "@troupe/agreement"
import { ScriptedModel, Turn } from "@troupe/llm"
import { Effect, Layer } from "effect"

// Three voters: two language models and code. Each votes yes or no with a reason.
const voters = [
  Voter.llm({ name: "backend", system: "You own the backend; you like boring technology." }),
  Voter.llm({ name: "frontend", system: "You want the app to work offline." }),
  Voter.make("ci", () => Effect.succeed({ vote: "yes", reason: "SQLite runs in CI with no service" }))
]

const program = Effect.gen(function* () {
  const decided = yield* Decision.decide({
    proposal: { topic: "storage", choice: "SQLite", rationale: "one file, no server" },
    voters,
    rule: Decision.majority, // or Decision.unanimity, Decision.quorum(k)
    deadline: "1 minute" // a voter that fails or is late counts as absent
  })
  console.log(`${decided.choice}: ${decided.accepted ? "accepted" : "rejected"} ${decided.yes}-${decided.no}`)
  console.log(DecisionLog.describe(yield* DecisionLog.entries)) // what later sessions get as context
})

// Offline, a scripted model votes. For a real one: OpenAi.layerConfig(); for a durable log: DecisionLog.layerDurable(name).
const model = ScriptedModel.layer([
  Turn.object({ vote: "yes", reason: "no ops" }),
  Turn.object({ vote: "no", reason: "offline" })
])
NodeRuntime.runMain(program.pipe(Effect.provide(Layer.merge(model, DecisionLog.layerMemory()))))
