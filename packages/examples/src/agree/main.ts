/**
 * A team that agrees before it builds. Asked for "an app to track recipes", a lead puts three decisions to
 * three agents with the Decision protocol (storage, schema, library): each votes with a reason, one
 * dissents, a majority settles each, and the outcomes go to a durable decision log (SQLite). Then a builder
 * agent works under the agreed decisions in a session whose `change` messages are refined by the log: its
 * first change uses another database, so the monitor refuses it (the model is told which decision it
 * breaks) and it corrects itself.
 *
 * Offline by default (a scripted model plays every agent); with `OPENAI_API_KEY` set, a real
 * OpenAI-compatible model does (`OPENAI_BASE_URL`, `OPENAI_MODEL` optional).
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples agree`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Decision, DecisionLog, Voter } from "@troupe/agreement"
import { LlmRole, OpenAi, ScriptedModel } from "@troupe/llm"
import { ActorSystem, Choreography, Session, Storage } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"
import { script } from "./script.ts"

const request = "Build an app to track recipes."

/** What the lead proposes. */
const proposals: ReadonlyArray<Decision.Proposal> = [
  { topic: "storage", choice: "SQLite", rationale: "one file, no server to run, easy to back up" },
  {
    topic: "schema",
    choice: "recipes(id, title, ingredients json, steps json, tags text[])",
    rationale: "one table; ingredients and steps as JSON"
  },
  { topic: "library", choice: "drizzle-orm", rationale: "typed queries, SQLite support, small" }
]

const voters = [
  Voter.llm({ name: "backend", system: "You are the backend engineer of a small team. You favour boring technology." }),
  Voter.llm({ name: "frontend", system: "You are the frontend engineer. You care that the app works offline." }),
  Voter.llm({ name: "qa", system: "You are the QA engineer. You care that things are easy to test." })
]

/** A change the builder makes: a file, what it does, and the storage and library it uses. */
const ChangeFields = Schema.Struct({
  file: Schema.String,
  summary: Schema.String,
  storage: Schema.String,
  library: Schema.String
})

/** The build protocol, its `change` payload held to the decision log. */
const buildProtocol = (log: ReadonlyArray<DecisionLog.Entry>) => {
  const Change = DecisionLog.refine(ChangeFields, log, (c) => ({ storage: c.storage, library: c.library }))
  return Choreography.makeUnsafe("Build", ["Lead", "Builder"], ($) => [
    $.message("Lead", "Builder", "task", Schema.String),
    $.loop("Work", [
      $.choice("Builder", {
        change: [
          $.message("Builder", "Lead", "change", Change),
          $.message("Lead", "Builder", "ok", Schema.Void),
          $.continue("Work")
        ],
        done: [$.message("Builder", "Lead", "done", Schema.String)]
      })
    ])
  ])
}

const program = Effect.gen(function* () {
  console.log(`Request: ${request}\n`)
  console.log("1. The team agrees (Decision protocol, majority, 30 s deadline)")
  for (const proposal of proposals) {
    const decided = yield* Decision.decide({
      proposal,
      voters,
      rule: Decision.majority,
      deadline: "30 seconds",
      proposer: "lead"
    })
    console.log(
      `  ${proposal.topic}: ${proposal.choice}: ${decided.accepted ? "accepted" : "rejected"} ${decided.yes}-${decided.no}`
    )
    for (const b of decided.ballots) console.log(`    ${b.voter}: ${b.vote}: ${b.reason}`)
  }
  const log = yield* DecisionLog.entries
  console.log(`\nThe decision log (durable):\n${DecisionLog.describe(log)}\n`)

  console.log("2. The builder works under the decisions (Build protocol; changes checked against the log)")
  const Build = buildProtocol(log)
  const lead = Session.role(Build, "Lead", (ep) =>
    Effect.gen(function* () {
      let work = yield* ep.send("Builder", "task", `${request}\n${DecisionLog.describe(log)}`)
      const changes: Array<string> = []
      for (;;) {
        const got = yield* work.receive()
        if (got.label === "done") {
          yield* got.next.close()
          return changes
        }
        changes.push(`${got.payload.file}: ${got.payload.summary}`)
        work = yield* got.next.send("Builder", "ok")
      }
    })
  )
  const builder = Session.role(
    Build,
    "Builder",
    LlmRole.play({
      system: "You are the builder. You write the code, one file per change, under the team's decisions.",
      maxCorrections: 2,
      onRejected: (_, rejection) =>
        Effect.sync(() => console.log(`  refused by the monitor: ${rejection.message.split("\n").slice(1).join(" ")}`))
    })
  )
  const done = yield* Session.run(Build, {
    roles: { Lead: yield* ActorSystem.spawn(lead), Builder: yield* ActorSystem.spawn(builder) },
    stepTimeout: "2 minutes"
  })
  for (const change of done.results.Lead) console.log(`  built ${change}`)
  console.log(`  the builder's moves corrected: ${done.results.Builder.corrections}`)
})

const dir = mkdtempSync(join(tmpdir(), "troupe-agree-"))
const model = process.env.OPENAI_API_KEY === undefined ? ScriptedModel.layer(script) : Layer.orDie(OpenAi.layerConfig())
const layers = Layer.mergeAll(
  ActorSystem.layer(),
  model,
  DecisionLog.layerDurable("recipes").pipe(Layer.provide(Storage.layerSqlite({ filename: join(dir, "team.db") })))
)

NodeRuntime.runMain(
  program.pipe(
    Effect.provide(Layer.orDie(layers)),
    Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
  )
)
