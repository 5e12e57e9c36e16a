/**
 * The Troupe demo: a small software team of agents (planner, coder, tester, reviewer) works on a task under a
 * choreography session, and shows what Troupe does as it goes:
 *
 * - every message the session carries, role by role;
 * - the coder's model tries a message out of protocol: its monitor refuses it before it leaves, and the model
 *   corrects itself;
 * - the tester crashes once: its supervisor restarts it, and it resumes the session from its checkpoint;
 * - at the end: the session as a sequence diagram (Mermaid text, and an HTML page that renders offline) and a
 *   summary (messages, restarts, violations caught, tokens, cost, time).
 *
 * While it runs, the live inspector shows it all in a browser (its URL is printed first); `--inspect` keeps the
 * inspector open after the session, until Ctrl-C (`--inspect=<port>` chooses its port).
 *
 * It uses a scripted model unless OPENAI_API_KEY is set (then OPENAI_BASE_URL and OPENAI_MODEL may point it
 * at any OpenAI-compatible server).
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"

import { SequenceDiagram } from "@troupe/cli"
import { Inspector } from "@troupe/inspector"
import { type LlmRole, OpenAi, ScriptedModel } from "@troupe/llm"
import { ActorSystem, Diagram, Session, Supervisor } from "@troupe/runtime"
import { Cause, Effect, Logger, Stream } from "effect"
import * as Console from "./console.ts"
import { script } from "./script.ts"
import * as Team from "./team.ts"

const real = process.env.OPENAI_API_KEY !== undefined
const model = real ? OpenAi.layerConfig() : ScriptedModel.layer(script(), { model: "gpt-4o-mini" })
/** Where the diagram and the logs go: under the directory the demo was started from. */
const cwd = process.env.INIT_CWD ?? process.cwd()
const out = join(cwd, "out", "demo")

/** `--inspect` (or `--inspect=<port>`): keep the inspector open after the session. */
const inspectFlag = process.argv.slice(2).find((arg) => arg === "--inspect" || arg.startsWith("--inspect="))
const inspectPort = Number(inspectFlag?.split("=")[1] ?? 0)

const counts = { refused: 0, restarts: 0, violations: 0 }

const reporter: Team.Reporter = {
  say: (role, text) => Console.line(`${Console.role(role)} ${text}`),
  refused: (role, detail) =>
    Effect.andThen(
      Effect.sync(() => counts.refused++),
      Console.line(
        `${Console.role(role)} ${Console.red("✗ refused before it left:")} ${detail} ${Console.dim("(fed back to the model)")}`
      )
    )
}

/** The team: one supervisor, four roles; the tester is restarted with backoff when it crashes. */
const team = Supervisor.make({
  strategy: Supervisor.oneForOne({
    maxRestarts: 3,
    within: "1 minute",
    backoff: Supervisor.backoff({ min: "300 millis", max: "2 seconds", jitter: 0 })
  }),
  children: [
    Supervisor.child("planner", Team.planner(Team.defaultTask, reporter)),
    Supervisor.child("coder", Team.coder(reporter)),
    Supervisor.child(
      "tester",
      Team.tester(Team.defaultCases, reporter, { crashed: process.env.DEMO_NOCRASH !== undefined }),
      { restart: "permanent" }
    ),
    Supervisor.child("reviewer", Team.reviewer(reporter))
  ]
})

/** Prints what happens, from the system's event stream. */
const narrate = Effect.gen(function* () {
  const system = yield* ActorSystem.ActorSystem
  const events = yield* system.subscribe
  yield* events.pipe(
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "SessionStarted":
          return Console.line(Console.bold(`Session ${event.session.slice(0, 8)} of ${event.protocol} began`))
        case "SessionStep":
          return event.direction === "send"
            ? Console.line(`${Console.role(event.role)} ${Console.cyan(`─${event.label}→`)} ${event.peer}`)
            : Effect.void
        case "SessionViolation":
          counts.violations++
          return Console.line(`${Console.role(event.role)} ${Console.red(`✗ ${event.violation.message}`)}`)
        case "Failed":
          return event.path.startsWith("/user/team/")
            ? Console.line(
                `${Console.role(roleOf(event.path))} ${Console.red(`✖ crashed: ${messageOf(Cause.squash(event.cause))}`)}`
              )
            : Effect.void
        case "Restarted":
          counts.restarts++
          return Console.line(
            `${Console.role(roleOf(event.path))} ${Console.yellow(`↻ restarted by its supervisor${event.delayMillis > 0 ? ` after ${event.delayMillis} ms of backoff` : ""}`)}`
          )
        case "SessionEnded":
          return Console.line(Console.bold(`Session ${event.outcome}`))
        default:
          return process.env.DEMO_DEBUG ? Console.line(Console.dim(JSON.stringify(event).slice(0, 200))) : Effect.void
      }
    }),
    Effect.forkScoped
  )
})

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const roleOf = (path: string): string => {
  const name = path.slice(path.lastIndexOf("/") + 1)
  return name.charAt(0).toUpperCase() + name.slice(1)
}

const program = Effect.gen(function* () {
  const started = Date.now()
  process.stdout.write(
    `${Console.bold("Troupe demo")}: a planner, a coder, a tester and a reviewer write ${Console.bold("slugify()")} under one choreography session\n` +
      `${Console.dim(real ? `model: ${process.env.OPENAI_MODEL ?? "the OpenAI default"} at ${process.env.OPENAI_BASE_URL ?? "api.openai.com"}` : "model: scripted (set OPENAI_API_KEY to use a real one)")}\n\n`
  )
  const inspector = yield* Inspector.Inspector
  process.stdout.write(
    `${Console.bold("Inspector")}: ${inspector.url} ${Console.dim(inspectFlag === undefined ? "(live while the demo runs; pnpm demo --inspect keeps it open)" : "(stays open after the session: Ctrl-C stops it)")}\n\n`
  )
  yield* narrate
  yield* ActorSystem.spawn(team, { name: "team" }).pipe(Effect.provide(model))
  const ref = <R extends "Planner" | "Coder" | "Tester" | "Reviewer">(role: R) =>
    ActorSystem.lookup(`/user/team/${role.toLowerCase()}`, Session.protocolOf(Team.SoftwareTeam, role))
  const done = yield* Session.run(Team.SoftwareTeam, {
    roles: {
      Planner: yield* ref("Planner"),
      Coder: yield* ref("Coder"),
      Tester: yield* ref("Tester"),
      Reviewer: yield* ref("Reviewer")
    },
    stepTimeout: real ? "5 minutes" : "30 seconds"
  })
  yield* Effect.sleep("50 millis") // let the last events print

  const thinking = [done.results.Coder, done.results.Reviewer] as ReadonlyArray<LlmRole.Result>
  const tokens = thinking.reduce((sum, r) => sum + r.usage.inputTokens + r.usage.outputTokens, 0)
  const cost = thinking.reduce((sum, r) => sum + r.cost, 0)
  const messages = done.trace.filter((e) => e._tag === "Sent").length
  const mermaid = Diagram.trace(done.trace)
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, "session.mmd"), `${mermaid}\n`)
  const facts: ReadonlyArray<readonly [string, string]> = [
    ["messages", String(messages)],
    ["restarts", String(counts.restarts)],
    ["violations caught", String(counts.refused + counts.violations)],
    ["tokens", String(tokens)],
    ["cost", `$${cost.toFixed(4)}`],
    ["time", `${((Date.now() - started) / 1000).toFixed(2)} s`]
  ]
  writeFileSync(
    join(out, "session.html"),
    SequenceDiagram.html({
      title: "Troupe demo: the session",
      diagrams: [
        { title: `Session ${done.session} of ${done.protocol}`, mermaid },
        { title: "The protocol", mermaid: Diagram.protocol(Team.SoftwareTeam) }
      ],
      facts
    })
  )
  process.stdout.write(
    `\n${Console.bold("The session")} (Mermaid):\n${Console.dim(mermaid)}\n\n${Console.bold("Approved code")}:\n  ${done.results.Planner}\n\n${Console.bold("Summary")}\n` +
      facts.map(([k, v]) => `  ${k.padEnd(18)} ${v}`).join("\n") +
      `\n\n${Console.green("✓")} diagram: ${relative(cwd, join(out, "session.mmd"))}, ${relative(cwd, join(out, "session.html"))} (opens offline in a browser); logs: ${relative(cwd, logFile)}\n`
  )
  if (inspectFlag !== undefined) {
    process.stdout.write(`\nThe inspector stays open at ${inspector.url} (Ctrl-C stops it)\n`)
    return yield* Effect.never
  }
})

/** Every log line (the crash, the restart, ...) goes to out/demo/demo.log: the console tells the story. */
const logFile = join(out, "demo.log")
const fileLogger = Logger.make((options) => {
  appendFileSync(logFile, `${Logger.formatLogFmt.log(options)}\n`)
})

mkdirSync(out, { recursive: true })
writeFileSync(logFile, "")
NodeRuntime.runMain(
  program.pipe(
    Effect.scoped,
    Effect.provide(Inspector.layer({ port: inspectPort, token: crypto.randomUUID() })),
    Effect.provide(ActorSystem.layer({ name: "demo" })),
    Effect.provide(Logger.layer([fileLogger]))
  )
)
