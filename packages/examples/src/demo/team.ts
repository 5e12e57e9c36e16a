/**
 * The demo's software team: a planner, a coder, a tester and a reviewer working on a small task under one
 * choreography session. The coder and the reviewer think with a language model; the planner and the tester
 * are ordinary code. The tester runs the coder's function against real test cases in a sandbox.
 */

import * as Vm from "node:vm"
import { LlmRole } from "@troupe/llm"
import { Choreography, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"

/** What the planner asks for. */
export const Task = Schema.Struct({
  title: Schema.String,
  spec: Schema.String,
  /** The test cases the tester runs: input → expected output. */
  cases: Schema.Array(Schema.Struct({ input: Schema.String, expected: Schema.String }))
})

/** A version of the code. */
export const Patch = Schema.Struct({ round: Schema.Finite, code: Schema.String })

/** What the tester found. */
export const Report = Schema.Struct({
  round: Schema.Finite,
  code: Schema.String,
  passed: Schema.Finite,
  total: Schema.Finite,
  failures: Schema.Array(Schema.String)
})

/** The end of the work: the approved code. */
export const Done = Schema.Struct({ code: Schema.String, rounds: Schema.Finite, summary: Schema.String })

/**
 * The protocol, written once. The planner hands out a task; then, round after round, the coder sends a patch
 * to the tester, the tester reports to the reviewer, and the reviewer either approves (telling everyone) or
 * asks for changes (telling everyone, and the next round begins). The tester is restartable: if it crashes,
 * its supervisor restarts it and it resumes the session from its checkpoint.
 */
export const SoftwareTeam = Choreography.makeUnsafe(
  "SoftwareTeam",
  ["Planner", "Coder", "Tester", "Reviewer"],
  ($) => [
    $.message("Planner", "Coder", "task", Task),
    $.loop("Round", [
      $.message("Coder", "Tester", "patch", Patch),
      $.message("Tester", "Reviewer", "report", Report),
      $.choice("Reviewer", {
        approved: [
          $.message("Reviewer", "Coder", "approved", Schema.String),
          $.message("Reviewer", "Tester", "ship", Schema.Void),
          $.message("Reviewer", "Planner", "done", Done)
        ],
        changes: [
          $.message("Reviewer", "Coder", "changes", Schema.String),
          $.message("Reviewer", "Tester", "retest", Schema.Void),
          $.message("Reviewer", "Planner", "progress", Schema.String),
          $.continue("Round")
        ]
      })
    ])
  ],
  { restartable: ["Tester"] }
)

/** What the roles tell the console as they go. */
export interface Reporter {
  readonly say: (role: string, text: string) => Effect.Effect<void>
  readonly refused: (role: string, detail: string) => Effect.Effect<void>
}

/** The planner: hands out the task, follows the progress, returns the approved code. */
export const planner = (task: typeof Task.Type, reporter: Reporter) =>
  Session.role(SoftwareTeam, "Planner", (ep) =>
    Effect.gen(function* () {
      let next = yield* ep.send("Coder", "task", task)
      for (;;) {
        const update = yield* next.receive()
        if (update.label === "done") {
          yield* reporter.say("Planner", `done after ${update.payload.rounds} round(s): ${update.payload.summary}`)
          return update.payload.code
        }
        yield* reporter.say("Planner", `progress: ${update.payload}`)
        next = update.next
      }
    })
  )

/** The coder: a language model that writes the code, and revises it on the reviewer's comments. */
export const coder = (reporter: Reporter) =>
  Session.role(
    SoftwareTeam,
    "Coder",
    LlmRole.play({
      system:
        "You are the coder of a small team. Write JavaScript function bodies that are correct and short. " +
        "The code you send is the body of `function slugify(title)`.",
      maxCorrections: 2,
      onRejected: (_, rejection) => reporter.refused("Coder", rejection.issues.map((i) => i.message).join("; "))
    })
  )

/** The reviewer: a language model that reads the test report and approves or asks for changes. */
export const reviewer = (reporter: Reporter) =>
  Session.role(
    SoftwareTeam,
    "Reviewer",
    LlmRole.play({
      system:
        "You are the reviewer of a small team. Approve code only when every test passes; otherwise say " +
        "precisely what to change. Keep the planner informed.",
      maxCorrections: 2,
      onRejected: (_, rejection) => reporter.refused("Reviewer", rejection.issues.map((i) => i.message).join("; "))
    })
  )

/**
 * The tester: runs each patch against the task's cases in a sandbox. Its sandbox dies on the first run
 * (`crashOnce`), which crashes the tester's actor: its supervisor restarts it, and the role resumes from its
 * checkpoint, running the tests of the same patch again (the patch is not received twice).
 */
export const tester = (
  cases: ReadonlyArray<{ readonly input: string; readonly expected: string }>,
  reporter: Reporter,
  crashOnce: { crashed: boolean }
) =>
  Session.role(SoftwareTeam, "Tester", (ep, session) =>
    Effect.gen(function* () {
      if (session.resumed)
        yield* reporter.say("Tester", "resumes the session from its checkpoint (the patch is not received twice)")
      let next = ep
      let rounds = 0
      for (;;) {
        const patch = yield* next.receive()
        rounds++
        const report = yield* session.once(
          Effect.suspend(() => {
            if (!crashOnce.crashed) {
              crashOnce.crashed = true
              return Effect.die(new Error("the test sandbox died"))
            }
            return Effect.succeed(run(patch.payload.code, cases))
          })
        )
        yield* reporter.say("Tester", `round ${patch.payload.round}: ${report.passed}/${report.total} tests pass`)
        const verdict = yield* (yield* patch.next.send("Reviewer", "report", {
          round: patch.payload.round,
          code: patch.payload.code,
          ...report
        })).receive()
        if (verdict.label === "ship") {
          yield* verdict.next.close()
          return rounds
        }
        next = verdict.next
      }
    })
  )

/** The task of the demo. */
export const defaultCases: ReadonlyArray<{ readonly input: string; readonly expected: string }> = [
  { input: "Hello World", expected: "hello-world" },
  { input: "  Troupe: agents that talk!  ", expected: "troupe-agents-that-talk" },
  { input: "a -- b", expected: "a-b" }
]

export const defaultTask: typeof Task.Type = {
  title: "slugify",
  spec: "Write slugify(title): lower case, words joined by single hyphens, no punctuation, no leading or trailing hyphen.",
  cases: defaultCases
}

/**
 * Runs the body of `slugify` against the cases, in a fresh sandbox with a time limit. The limit stops a runaway
 * loop; it is wall time, so it is far above what the code needs (microseconds): on a loaded machine the process
 * can be paused for hundreds of milliseconds, and a limit of 100 ms failed a correct patch then (the demo's
 * "round 2: 0/3 tests pass").
 */
export const run = (
  code: string,
  cases: ReadonlyArray<{ readonly input: string; readonly expected: string }>
): { readonly passed: number; readonly total: number; readonly failures: ReadonlyArray<string> } => {
  const failures: Array<string> = []
  for (const { input, expected } of cases) {
    try {
      const actual: unknown = new Vm.Script(
        `(function slugify(title) {\n${code}\n})(${JSON.stringify(input)})`
      ).runInNewContext({}, { timeout: 2_000 })
      if (actual !== expected)
        failures.push(
          `slugify(${JSON.stringify(input)}) returned ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`
        )
    } catch (error) {
      failures.push(`slugify(${JSON.stringify(input)}) threw ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return { passed: cases.length - failures.length, total: cases.length, failures }
}
